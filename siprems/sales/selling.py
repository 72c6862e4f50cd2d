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
from siprems.inventory import ledger as stock_ledger
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

_SALE_MOVEMENTS = stock_ledger.insert_sql(
    "SELECT d.product_id, d.delta, d.balance_after, "
    "COALESCE('checkout:' || %(checkout)s::text, 'transaction:' || s.transaction_id) "
    "FROM decrement d JOIN sold s ON s.product_id = d.product_id"
)

# Stock decrement, sale lines and their stock movements in one statement (one round trip).
_SELL = f"""
WITH u AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(qtys)s::int[], %(prices)s::numeric[], %(promos)s::bool[])
           WITH ORDINALITY AS u(pid, qty, price, promo, ord)
),
decrement AS (
    UPDATE products p SET stock = p.stock - u.qty, updated_at = now()
      FROM u
     WHERE p.product_id = u.pid
    RETURNING p.product_id, -u.qty AS delta, p.stock AS balance_after
),
sold AS (
    INSERT INTO transactions (store_id, product_id, quantity_sold, price_per_unit, is_promo, transaction_date,
                              checkout_id, user_id)
    SELECT %(store)s, u.pid, u.qty, u.price, u.promo, COALESCE(%(sold_at)s, now()), %(checkout)s::uuid,
           %(mv_user)s
      FROM u
     ORDER BY u.ord
    RETURNING transaction_id, transaction_date, product_id, quantity_sold, price_per_unit, is_promo, checkout_id
),
moved AS ({_SALE_MOVEMENTS})
SELECT * FROM sold
"""


async def sell(
    cur,
    store_id: int,
    lines: list[SaleLine],
    *,
    user_id: int | None = None,
    checkout_id: str | None = None,
    sold_at: datetime | None = None,
) -> list[dict]:
    """Sell `lines` (distinct SKUs) for the store as `user_id`; returns TxRows
    in line order. Each line's stock change is a `sale` movement in the ledger.

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
        **stock_ledger.params(store_id, user_id, "sale"),
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
        for pid, line in zip(ids, lines, strict=False)
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


async def checkout(cur, store_id: int, lines: list[SaleLine], *, user_id: int | None = None) -> dict:
    """Sell a cart (duplicate SKUs merged) as one checkout."""
    checkout_id = str(uuid.uuid4())
    rows = await sell(cur, store_id, merge_lines(lines), user_id=user_id, checkout_id=checkout_id)
    return {"success": True, "checkout_id": checkout_id, "transactions": rows, "summary": summary(rows)}
