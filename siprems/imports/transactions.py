"""Bulk import of sales history: one row per sold product line.

Rows name products by SKU (archived products count: old sales are history).
A date without a time, or a time without an offset, is read in the store's
time zone. `price` defaults to the product's current price. Imported sales do
not change stock: they are history, not today's sales.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from siprems.catalog.fields import Money
from siprems.db import transaction
from siprems.imports.rows import Problem, Rows, column_names, pg_array, reject, validate

CHUNK = 20_000
ALIASES = {"sku": "product_sku", "quantity_sold": "quantity", "price_per_unit": "price"}
IGNORED = frozenset({"transaction_id", "product_name"})  # read-only fields of an exported TxRow
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
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
        raise ValueError("must be a number, not a boolean")
    return value


class TransactionRow(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    product_sku: str = Field(min_length=1, max_length=50)
    quantity: Annotated[int, BeforeValidator(_no_bool), Field(ge=1, le=1_000_000)]
    transaction_date: Annotated[datetime, BeforeValidator(_no_number)]
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


async def write(pool, store_id: int, rows: Rows, sales: list[TransactionRow]) -> dict:
    """Resolve SKUs and write every row in one transaction; any problem writes nothing."""
    skus = sorted({s.product_sku for s in sales})
    async with transaction(pool) as cur:
        await cur.execute("SELECT timezone FROM stores WHERE store_id = %s", (store_id,))
        zone = ZoneInfo((await cur.fetchone())["timezone"])
        # FOR KEY SHARE: the products cannot be deleted or renamed until we commit.
        await cur.execute(
            """SELECT sku, product_id, price FROM products
               WHERE store_id = %s AND sku = ANY(%s::text[]) FOR KEY SHARE""",
            (store_id, pg_array(skus)))
        products = {row["sku"]: (row["product_id"], row["price"]) for row in await cur.fetchall()}
        columns, span = _columns(rows, sales, products, zone)
        for start in range(0, len(sales), CHUNK):
            params = {name: pg_array(values[start:start + CHUNK]) for name, values in columns.items()}
            await cur.execute(INSERT, {**params, "store": store_id})
    return {"received": len(sales), "imported": len(sales), "products": len(skus),
            "first_date": span[0], "last_date": span[1], "stock_changed": False}


def _columns(rows: Rows, sales: list[TransactionRow], products: dict[str, tuple[int, Decimal]],
             zone: ZoneInfo) -> tuple[dict[str, list], tuple[datetime, datetime]]:
    latest = datetime.now(timezone.utc) + FUTURE_SLACK
    columns: dict[str, list] = {"product_id": [], "quantity": [], "price": [], "is_promo": [], "at": []}
    problems: list[Problem] = []
    for index, sale in enumerate(sales):
        product = products.get(sale.product_sku)
        at = sale.transaction_date
        if at.tzinfo is None:
            at = at.replace(tzinfo=zone)
        problem = None
        if product is None:
            problem = ("product_sku", f"no product with SKU {sale.product_sku} in this store")
        elif at > latest:
            problem = ("transaction_date", "is in the future")
        elif at < EARLIEST:
            problem = ("transaction_date", "is before 1970-01-01")
        if problem:
            problems.append(Problem(**rows.where(index), field=problem[0], message=problem[1]))
            continue
        if problems:
            continue  # only collecting problems now
        columns["product_id"].append(product[0])
        columns["quantity"].append(sale.quantity)
        columns["price"].append(sale.price if sale.price is not None else product[1])
        columns["is_promo"].append(sale.is_promo)
        columns["at"].append(at)
    if problems:
        raise reject(problems)
    dates = columns["at"]
    return columns, (min(dates), max(dates))
