"""Reading sales lines in the contract's TxRow shape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from siprems.calendar.locale import StoreLocale
from siprems.db import fetch_all, fetch_one
from siprems.errors import NotFound
from siprems.jsonutil import Number

MAX_ID = 2**63 - 1

ROW_COLUMNS = """t.transaction_id, t.transaction_date, t.product_id, p.name AS product_name, p.sku,
                 t.quantity_sold, t.price_per_unit, t.is_promo, t.checkout_id"""


@dataclass
class TxRow:
    """A sale line: `sku` and `product_sku` are the same (both names were used
    by earlier clients); `total` is quantity x unit price, exact."""

    transaction_id: int
    transaction_date: datetime  # in the store's time zone
    product_id: int
    product_name: str
    sku: str
    product_sku: str
    quantity_sold: int
    price_per_unit: Number
    total: Number
    is_promo: bool
    checkout_id: str | None  # a UUID shared by the lines of one checkout


def tx_row(row: dict, tz: tzinfo) -> TxRow:
    checkout = row["checkout_id"]
    return TxRow(
        row["transaction_id"],
        row["transaction_date"].astimezone(tz),
        row["product_id"],
        row["product_name"],
        row["sku"],
        row["sku"],
        row["quantity_sold"],
        row["price_per_unit"],
        row["price_per_unit"] * row["quantity_sold"],
        row["is_promo"],
        str(checkout) if checkout is not None else None,
    )


async def list_sales(
    pool,
    locale: StoreLocale,
    *,
    limit: int,
    offset: int,
    start: date | None = None,
    end: date | None = None,
    sold_by: int | None = None,
) -> list[TxRow]:
    """Newest first; `start`/`end` are local calendar days, both inclusive;
    `sold_by`: only that user's sales of today (what a cashier sees)."""
    sql = f"""SELECT {ROW_COLUMNS} FROM transactions t JOIN products p ON p.product_id = t.product_id
               WHERE t.store_id = %(store)s"""
    params: dict = {"store": locale.store_id, "limit": limit, "offset": offset}
    if sold_by is not None:
        today = locale.today()
        start, end = max(start or today, today), min(end or today, today)
        sql += " AND t.user_id = %(sold_by)s"
        params["sold_by"] = sold_by
    if start is not None:
        sql += " AND t.transaction_date >= %(start)s"
        params["start"] = locale.day_start(start)
    if end is not None:
        sql += " AND t.transaction_date < %(end)s"
        params["end"] = locale.days_window(end, end)[1]
    sql += " ORDER BY t.transaction_date DESC, t.transaction_id DESC LIMIT %(limit)s OFFSET %(offset)s"
    return [tx_row(r, locale.tz) for r in await fetch_all(pool, sql, params)]


async def get_sale(pool, locale: StoreLocale, transaction_id: int, sold_by: int | None = None) -> TxRow:
    """One line; with `sold_by`, only that user's line of today (else 404 like a missing one)."""
    row = None
    if 0 < transaction_id <= MAX_ID:
        row = await fetch_one(
            pool,
            f"""SELECT {ROW_COLUMNS}, t.user_id FROM transactions t JOIN products p ON p.product_id = t.product_id
                       WHERE t.store_id = %s AND t.transaction_id = %s""",
            (locale.store_id, transaction_id),
        )
    if row is not None and sold_by is not None:
        today_start = locale.day_start(locale.today())
        if row["user_id"] != sold_by or row["transaction_date"] < today_start:
            row = None
    if row is None:
        raise NotFound(f"Transaction {transaction_id} not found", code="transaction_not_found")
    return tx_row(row, locale.tz)
