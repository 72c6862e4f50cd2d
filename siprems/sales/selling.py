"""Selling: decrement stock and record sale lines, all or nothing.

`sell()` runs on a cursor that is already inside a transaction (the caller
owns BEGIN/COMMIT, so an idempotency record can share it). It locks the
product rows with `SELECT ... FOR NO KEY UPDATE` (stock is not a key, so
foreign-key checks of concurrent inserts are not blocked) in product_id order, the same
order for every sale, so two carts that share products queue up instead of
deadlocking. Prices come from the database unless the caller passes an
explicit unit price (the single-line sale endpoint allows one).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from siprems.calendar.locale import zone
from siprems.errors import Conflict, NotFound
from siprems.sales.ledger import tx_row

TAX_RATE = Decimal("0.10")  # the POS adds 10% tax
CENT = Decimal("0.01")


@dataclass(frozen=True)
class SaleLine:
    sku: str
    quantity: int
    price: Decimal | None = None  # None: the product's current price
    is_promo: bool = False


def merge_lines(lines: list[SaleLine]) -> list[SaleLine]:
    """One line per SKU (quantities added), in first-seen order."""
    merged: dict[str, SaleLine] = {}
    for line in lines:
        seen = merged.get(line.sku)
        merged[line.sku] = (
            line if seen is None else SaleLine(line.sku, seen.quantity + line.quantity, seen.price, seen.is_promo)
        )
    return list(merged.values())


_LOCK = """
SELECT product_id, sku, name, price, stock, is_archived,
       (SELECT timezone FROM stores WHERE store_id = %(store)s) AS store_timezone
  FROM products
 WHERE store_id = %(store)s AND sku = ANY(%(skus)s)
 ORDER BY product_id
   FOR NO KEY UPDATE OF products
"""

# Stock decrement and sale lines in one statement (one round trip).
_SELL = """
WITH decrement AS (
    UPDATE products p SET stock = p.stock - u.qty, updated_at = now()
      FROM unnest(%(ids)s::bigint[], %(qtys)s::int[]) AS u(pid, qty)
     WHERE p.product_id = u.pid
)
INSERT INTO transactions (store_id, product_id, quantity_sold, price_per_unit, is_promo, transaction_date,
                          checkout_id)
SELECT %(store)s, u.pid, u.qty, u.price, u.promo, COALESCE(%(sold_at)s, now()), %(checkout)s::uuid
  FROM unnest(%(ids)s::bigint[], %(qtys)s::int[], %(prices)s::numeric[], %(promos)s::bool[])
       WITH ORDINALITY AS u(pid, qty, price, promo, ord)
 ORDER BY u.ord
RETURNING transaction_id, transaction_date, product_id, quantity_sold, price_per_unit, is_promo, checkout_id
"""


async def sell(
    cur, store_id: int, lines: list[SaleLine], *, checkout_id: str | None = None, sold_at: datetime | None = None
) -> list[dict]:
    """Sell `lines` (distinct SKUs) for the store; returns TxRows in line order.

    Raises NotFound for an unknown (or other store's) SKU, Conflict for an
    archived product or insufficient stock; nothing is written then (the
    caller's transaction rolls back).
    """
    await cur.execute(_LOCK, {"store": store_id, "skus": [line.sku for line in lines]})
    products = {row["sku"]: row for row in await cur.fetchall()}
    for line in lines:
        if line.sku not in products:
            raise NotFound(
                f"Product with SKU {line.sku} not found", code="product_not_found", extra={"product_sku": line.sku}
            )
    for line in lines:
        product = products[line.sku]
        if product["is_archived"]:
            raise Conflict(
                f"Product {product['name']} ({line.sku}) is archived and cannot be sold.",
                code="product_archived",
                extra={"product_sku": line.sku},
            )
        if product["stock"] < line.quantity:
            raise Conflict(
                f"Insufficient stock for {product['name']} ({line.sku}): "
                f"available {product['stock']}, requested {line.quantity}.",
                code="insufficient_stock",
                extra={
                    "product_sku": line.sku,
                    "product_name": product["name"],
                    "available": product["stock"],
                    "requested": line.quantity,
                },
            )

    ids = [products[line.sku]["product_id"] for line in lines]
    params = {
        "store": store_id,
        "ids": ids,
        "qtys": [line.quantity for line in lines],
        "prices": [line.price if line.price is not None else products[line.sku]["price"] for line in lines],
        "promos": [line.is_promo for line in lines],
        "sold_at": sold_at,
        "checkout": checkout_id,
    }
    await cur.execute(_SELL, params)
    inserted = {row["product_id"]: row for row in await cur.fetchall()}
    tz = zone(products[lines[0].sku]["store_timezone"])
    return [
        tx_row({**inserted[pid], "product_name": products[line.sku]["name"], "sku": line.sku}, tz)
        for pid, line in zip(ids, lines)
    ]


def summary(rows: list[dict]) -> dict:
    """Totals from the recorded lines (database prices), exact to the cent."""
    subtotal = sum((row["total"] for row in rows), Decimal(0))
    tax = (subtotal * TAX_RATE).quantize(CENT, rounding=ROUND_HALF_UP)
    return {
        "subtotal": subtotal,
        "tax": tax,
        "total": subtotal + tax,
        "tax_rate": TAX_RATE,
        "items_count": len(rows),
        "units_count": sum(row["quantity_sold"] for row in rows),
    }


async def checkout(cur, store_id: int, lines: list[SaleLine]) -> dict:
    """Sell a cart (duplicate SKUs merged) as one checkout."""
    checkout_id = str(uuid.uuid4())
    rows = await sell(cur, store_id, merge_lines(lines), checkout_id=checkout_id)
    return {"success": True, "checkout_id": checkout_id, "transactions": rows, "summary": summary(rows)}
