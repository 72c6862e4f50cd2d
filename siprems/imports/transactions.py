"""Bulk import of sales history: one row per sold product line.

Rows name products by SKU (archived products count: old sales are history).
A date without a time, or a time without an offset, is read in the store's
time zone. `price` defaults to the product's current price. Imported sales do
not change stock: they are history, not today's sales.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Annotated, Any

import psycopg2.errors
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from siprems.calendar import locale
from siprems.catalog.fields import Money
from siprems.db import transaction
from siprems.errors import Conflict
from siprems.imports.rows import Problem, Rows, column_names, plain_array, reject, text_array, validate

CHUNK = 20_000
ALIASES = {"sku": "product_sku", "quantity_sold": "quantity", "price_per_unit": "price"}
IGNORED = frozenset({"transaction_id", "product_name"})  # read-only fields of an exported TxRow
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)

INSERT = """
INSERT INTO transactions (store_id, product_id, quantity_sold, price_per_unit, is_promo, transaction_date)
SELECT %(store)s, r.product_id, r.quantity, r.price, r.is_promo, r.at
FROM unnest(%(product_id)s::bigint[], %(quantity)s::int[], %(price)s::numeric[], %(is_promo)s::bool[],
            %(at)s::timestamptz[]) AS r(product_id, quantity, price, is_promo, at)"""


def _no_number(value: Any) -> Any:
    # pydantic reads 20240105 as Unix seconds (1970-08-23): only ISO 8601 is accepted.
    if isinstance(value, (int, float, bool)) or (isinstance(value, str) and value.strip().isdigit()):
        raise ValueError("must be an ISO 8601 date or date-time (e.g. 2024-01-31 or 2024-01-31T14:05:00+07:00)")
    return value


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")  # noqa: TRY004 - pydantic reports ValueError
    return value


class TransactionRow(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    product_sku: str = Field(min_length=1, max_length=50)
    quantity: Annotated[int, Field(ge=1, le=1_000_000), BeforeValidator(_no_bool)]
    transaction_date: Annotated[
        datetime,
        BeforeValidator(_no_number),
        WithJsonSchema({"type": "string", "format": "date-time", "description": "ISO 8601 date or date-time"}),
    ]
    price: Money | None = None
    is_promo: bool = False

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key in IGNORED:
                continue
            name = ALIASES.get(key, key)
            if name in out and out[name] != value:
                raise ValueError(f"'{key}' and '{name}' are the same field with different values; send one")
            out[name] = value
        return out


COLUMNS = column_names(TransactionRow, [*ALIASES, *IGNORED])


def check(rows: Rows) -> list[TransactionRow]:
    return validate(TransactionRow, rows)


@dataclass
class SalesImported:
    received: int
    imported: int
    products: int
    first_date: datetime
    last_date: datetime
    stock_changed: bool


@dataclass
class SalesImport:
    result: SalesImported
    changed_products: list[tuple[int, str]]  # (product_id, sku) whose history changed


async def write(pool, store_id: int, rows: Rows, sales: list[TransactionRow]) -> SalesImport:
    """Resolve SKUs and write every row in one transaction; any problem writes nothing."""
    try:
        return await _write(pool, store_id, rows, sales)
    except (psycopg2.errors.DeadlockDetected, psycopg2.errors.ForeignKeyViolation) as exc:
        raise Conflict(
            "A concurrent change to these products interrupted the import; nothing was imported. Retry the import.",
            code="import_conflict",
        ) from exc


async def _write(pool, store_id: int, rows: Rows, sales: list[TransactionRow]) -> SalesImport:
    skus = sorted({s.product_sku for s in sales})
    async with transaction(pool) as cur:
        await cur.execute("SELECT timezone FROM stores WHERE store_id = %s", (store_id,))
        zone = locale.zone((await cur.fetchone())["timezone"])
        # FOR KEY SHARE: the products cannot be deleted or renamed until we
        # commit. Locked in product_id order, the order checkout locks in.
        await cur.execute(
            """SELECT sku, product_id, price FROM products
               WHERE store_id = %s AND sku = ANY(%s::text[]) ORDER BY product_id FOR KEY SHARE""",
            (store_id, text_array(skus)),
        )
        products = {row["sku"]: (row["product_id"], row["price"]) for row in await cur.fetchall()}
        # CPU work off the event loop: other requests on this worker keep flowing.
        batches, span = await asyncio.to_thread(_batches, rows, sales, products, zone)
        for params in batches:
            await cur.execute(INSERT, {**params, "store": store_id})
    result = SalesImported(len(sales), len(sales), len(skus), span[0], span[1], stock_changed=False)
    return SalesImport(result, sorted((pid, sku) for sku, (pid, _) in products.items()))


def _batches(
    rows: Rows, sales: list[TransactionRow], products: dict[str, tuple[int, Decimal]], zone: tzinfo
) -> tuple[list[dict], tuple[datetime, datetime]]:
    columns, span = _columns(rows, sales, products, zone)
    batches = [
        {name: plain_array(values[start : start + CHUNK]) for name, values in columns.items()}
        for start in range(0, len(sales), CHUNK)
    ]
    return batches, span


def _columns(
    rows: Rows, sales: list[TransactionRow], products: dict[str, tuple[int, Decimal]], zone: tzinfo
) -> tuple[dict[str, list], tuple[datetime, datetime]]:
    """Resolve every row to insertable values, or raise naming each problem."""
    latest = datetime.now(UTC) + FUTURE_SLACK
    ids, quantities, prices, promos, dates = [], [], [], [], []
    problems: list[Problem] = []
    for index, sale in enumerate(sales):
        product = products.get(sale.product_sku)
        at = sale.transaction_date
        if at.tzinfo is None:
            at = at.replace(tzinfo=zone)
        if product is None or not EARLIEST <= at <= latest:
            if product is None:
                field, message = "product_sku", f"no product with SKU {sale.product_sku} in this store"
            elif at > latest:
                field, message = "transaction_date", "is in the future"
            else:
                field, message = "transaction_date", "is before 1970-01-01"
            problems.append(Problem(**rows.where(index), field=field, message=message))
        elif not problems:
            ids.append(product[0])
            quantities.append(sale.quantity)
            prices.append(product[1] if sale.price is None else sale.price)
            promos.append(sale.is_promo)
            dates.append(at)
    if problems:
        raise reject(problems)
    columns = {"product_id": ids, "quantity": quantities, "price": prices, "is_promo": promos, "at": dates}
    return columns, (min(dates), max(dates))
