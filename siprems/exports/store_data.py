"""What each export contains, as async iterators of text chunks (one batch of
rows per chunk). Column names are the import routes' fields, so
`products.csv` and `transactions.csv` (and the `products`/`transactions`
arrays of `store.json`) post back to /api/products/import and
/api/transactions/import unchanged."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from siprems import jsonutil
from siprems.catalog.products import WRITABLE
from siprems.exports.cells import neutralise
from siprems.exports.stream import Snapshot, snapshot

# The catalogue's writable columns: an export posts back to the import unchanged.
PRODUCT_COLUMNS = WRITABLE
PRODUCTS_SQL = f"SELECT {', '.join(PRODUCT_COLUMNS)} FROM products WHERE store_id = %s ORDER BY product_id"

TRANSACTION_COLUMNS = (
    "transaction_id",
    "product_sku",
    "product_name",
    "quantity",
    "price",
    "is_promo",
    "transaction_date",
)
TRANSACTIONS_SQL = """
SELECT t.transaction_id, p.sku AS product_sku, p.name AS product_name, t.quantity_sold AS quantity,
       t.price_per_unit AS price, t.is_promo, t.transaction_date
FROM transactions t JOIN products p USING (product_id)
WHERE t.store_id = %(store)s
  AND (%(start)s::timestamptz IS NULL OR t.transaction_date >= %(start)s)
  AND (%(end)s::timestamptz IS NULL OR t.transaction_date < %(end)s)
ORDER BY t.transaction_date, t.transaction_id"""

ORDER_LINE_COLUMNS = (
    "po_id",
    "status",
    "supplier_id",
    "supplier_name",
    "expected_date",
    "ordered_at",
    "received_at",
    "cancelled_at",
    "product_sku",
    "product_name",
    "quantity",
    "quantity_received",
    "unit_cost",
)
ORDER_LINES_SQL = """
SELECT o.po_id, o.status, o.supplier_id, s.name AS supplier_name, o.expected_date, o.ordered_at, o.received_at,
       o.cancelled_at, p.sku AS product_sku, p.name AS product_name, l.quantity, l.quantity_received, l.unit_cost
FROM purchase_orders o JOIN suppliers s USING (supplier_id)
     JOIN purchase_order_lines l USING (po_id) JOIN products p ON p.product_id = l.product_id
WHERE o.store_id = %s ORDER BY o.po_id, p.sku"""


def cell(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return neutralise(str(value))


def csv_text(rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerows([[cell(v) for v in row] for row in rows])
    return buf.getvalue()


async def _csv(snap: Snapshot, columns: Sequence[str], sql: str, params: Any) -> AsyncIterator[str]:
    yield csv_text([columns])
    async for batch in snap.rows(sql, params):
        yield csv_text([[row[c] for c in columns] for row in batch])


async def products_csv(pool, store_id: int) -> AsyncIterator[str]:
    async with snapshot(pool) as snap:
        async for chunk in _csv(snap, PRODUCT_COLUMNS, PRODUCTS_SQL, (store_id,)):
            yield chunk


async def transactions_csv(pool, store_id: int, start: datetime | None, end: datetime | None) -> AsyncIterator[str]:
    async with snapshot(pool) as snap:
        params = {"store": store_id, "start": start, "end": end}
        async for chunk in _csv(snap, TRANSACTION_COLUMNS, TRANSACTIONS_SQL, params):
            yield chunk


async def purchase_orders_csv(pool, store_id: int) -> AsyncIterator[str]:
    async with snapshot(pool) as snap:
        async for chunk in _csv(snap, ORDER_LINE_COLUMNS, ORDER_LINES_SQL, (store_id,)):
            yield chunk


# store.json: sections in this order; each is a JSON array streamed batch by batch.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("products", PRODUCTS_SQL),
    (
        "product_purchasing",
        """SELECT p.sku, p.preferred_supplier_id AS supplier_id, p.supplier_sku, p.pack_size,
                  p.lead_time_from_supplier
           FROM products p WHERE p.store_id = %s ORDER BY p.product_id""",
    ),
    (
        "suppliers",
        """SELECT supplier_id, name, contact, email, phone, lead_time_days, notes, created_at, updated_at
           FROM suppliers WHERE store_id = %s ORDER BY supplier_id""",
    ),
    ("purchase_order_lines", ORDER_LINES_SQL),
    (
        "events",
        """SELECT event_name, event_date, type, description, include_in_prediction
           FROM events WHERE store_id = %s ORDER BY event_date, event_id""",
    ),
    (
        "opening_hours",
        """SELECT day_of_week, open_time, close_time, is_closed FROM opening_hours WHERE store_id = %s
           ORDER BY array_position(ARRAY['Monday','Tuesday','Wednesday','Thursday','Friday','Saturday',
                                         'Sunday'], day_of_week)""",
    ),
    ("webhooks", "SELECT url, events, is_active FROM webhooks WHERE store_id = %s ORDER BY webhook_id"),
)
# The transactions of store.json in the import's shape (no ids, no names).
TRANSACTIONS_JSON_SQL = """
SELECT p.sku AS product_sku, t.quantity_sold AS quantity, t.price_per_unit AS price, t.is_promo, t.transaction_date
FROM transactions t JOIN products p USING (product_id)
WHERE t.store_id = %s ORDER BY t.transaction_date, t.transaction_id"""


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (datetime, date)) else value


def _json_rows(rows: Sequence[dict], first: bool) -> str:
    body = ",".join(jsonutil.dumps_str({k: _json_value(v) for k, v in row.items()}) for row in rows)
    return body if first else "," + body


async def _json_array(snap: Snapshot, name: str, sql: str, params: Any) -> AsyncIterator[str]:
    yield f',"{name}":['
    first = True
    async for batch in snap.rows(sql, params):
        yield _json_rows(batch, first)
        first = False
    yield "]"


async def store_json(pool, store_id: int) -> AsyncIterator[str]:
    """Everything of the store in one JSON object (no secrets, no passwords)."""
    async with snapshot(pool) as snap:
        store = await snap.one(
            """SELECT name, address, country, subdivision, timezone, currency, created_at
               FROM stores WHERE store_id = %s""",
            (store_id,),
        )
        exported = await snap.one("SELECT now() AS at")
        head = {"format": "siprems-store-export/1", "exported_at": exported["at"].isoformat(), "store": store}
        yield jsonutil.dumps_str({k: _json_value(v) for k, v in head.items()})[:-1]
        for name, sql in SECTIONS:
            async for chunk in _json_array(snap, name, sql, (store_id,)):
                yield chunk
        async for chunk in _json_array(snap, "transactions", TRANSACTIONS_JSON_SQL, (store_id,)):
            yield chunk
        yield "}\n"
