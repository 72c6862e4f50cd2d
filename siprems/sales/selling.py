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
from siprems.jsonutil import Number
from siprems.sales.ledger import TxRow, tx_row

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


_SALE_MOVEMENTS = stock_ledger.insert_sql(
    "SELECT d.product_id, d.delta, d.balance_after, "
    "COALESCE('checkout:' || %(checkout)s::text, 'transaction:' || s.transaction_id) "
    "FROM decrement d JOIN sold s ON s.product_id = d.product_id"
)

# One statement, one round trip: lock the products (in product_id order, the same
# for every sale, so two carts that share products queue up instead of
# deadlocking), decrement the stock of lines that can be sold, record those sale
# lines and their stock movements, and answer the locked rows as they were
# before (for the errors). `sell` checks that every line was sold; if one was
# not, it raises and the caller's transaction rolls the others back.
_SELL = f"""
WITH u AS (
    SELECT * FROM unnest(%(skus)s::text[], %(qtys)s::int[], %(prices)s::numeric[], %(promos)s::bool[])
           WITH ORDINALITY AS u(sku, qty, price, promo, ord)
),
locked AS (
    SELECT product_id, sku, name, price, stock, is_archived
      FROM products
     WHERE store_id = %(store)s AND sku = ANY(%(skus)s::text[])
     ORDER BY product_id
       FOR NO KEY UPDATE
),
sellable AS (
    SELECT l.product_id, l.name, l.sku, u.qty, COALESCE(u.price, l.price) AS price, u.promo, u.ord
      FROM u JOIN locked l ON l.sku = u.sku
     WHERE NOT l.is_archived AND l.stock >= u.qty
),
decrement AS (
    UPDATE products p SET stock = p.stock - s.qty, updated_at = now()
      FROM sellable s
     WHERE p.product_id = s.product_id
    RETURNING p.product_id, -s.qty AS delta, p.stock AS balance_after
),
sold AS (
    INSERT INTO transactions (store_id, product_id, quantity_sold, price_per_unit, is_promo, transaction_date,
                              checkout_id, user_id)
    SELECT %(store)s, s.product_id, s.qty, s.price, s.promo, COALESCE(%(sold_at)s, now()), %(checkout)s::uuid,
           %(mv_user)s
      FROM sellable s
     ORDER BY s.ord
    RETURNING transaction_id, transaction_date, product_id, quantity_sold, price_per_unit, is_promo, checkout_id
),
moved AS ({_SALE_MOVEMENTS})
SELECT sold.*, facts.locked, facts.store_timezone
  FROM (SELECT (SELECT json_agg(l) FROM locked l) AS locked,
               (SELECT timezone FROM stores WHERE store_id = %(store)s) AS store_timezone) facts
  LEFT JOIN sold ON true
"""


def _refusal(line: SaleLine, product: dict | None) -> Exception:
    """Why `line` could not be sold (the product as locked, before this sale)."""
    if product is None:
        return NotFound(
            f"Product with SKU {line.sku} not found", code="product_not_found", extra={"product_sku": line.sku}
        )
    if product["is_archived"]:
        return Conflict(
            f"Product {product['name']} ({line.sku}) is archived and cannot be sold.",
            code="product_archived",
            extra={"product_sku": line.sku},
        )
    return Conflict(
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


async def sell(
    cur,
    store_id: int,
    lines: list[SaleLine],
    *,
    user_id: int | None = None,
    checkout_id: str | None = None,
    sold_at: datetime | None = None,
) -> list[TxRow]:
    """Sell `lines` (distinct SKUs) for the store as `user_id`; returns TxRows
    in line order. Each line's stock change is a `sale` movement in the ledger.

    Raises NotFound for an unknown (or other store's) SKU, Conflict for an
    archived product or insufficient stock (the first such line, in line order);
    the caller's transaction must then roll back (other lines may have been written).
    """
    params = {
        **stock_ledger.params(store_id, user_id, "sale"),
        "skus": [line.sku for line in lines],
        "qtys": [line.quantity for line in lines],
        "prices": [line.price for line in lines],
        "promos": [line.is_promo for line in lines],
        "sold_at": sold_at,
        "checkout": checkout_id,
    }
    await cur.execute(_SELL, params)
    rows = await cur.fetchall()  # one per line sold (at least one, with the locked products)
    products = {row["sku"]: row for row in rows[0]["locked"] or ()}
    inserted = {row["product_id"]: row for row in rows if row["transaction_id"] is not None}
    for line in lines:
        product = products.get(line.sku)
        if product is None or product["product_id"] not in inserted:
            raise _refusal(line, product)
    tz = zone(rows[0]["store_timezone"])
    return [
        tx_row(
            {**inserted[products[line.sku]["product_id"]], "product_name": products[line.sku]["name"], "sku": line.sku},
            tz,
        )
        for line in lines
    ]


@dataclass
class Summary:
    subtotal: Number
    tax: Number
    total: Number
    tax_rate: Number
    items_count: int
    units_count: int


@dataclass
class Checkout:
    success: bool
    checkout_id: str
    transactions: list[TxRow]
    summary: Summary


def summary(rows: list[TxRow]) -> Summary:
    """Totals from the recorded lines (database prices), exact to the cent."""
    subtotal = sum((row.total for row in rows), Decimal(0))
    tax = (subtotal * TAX_RATE).quantize(CENT, rounding=ROUND_HALF_UP)
    return Summary(subtotal, tax, subtotal + tax, TAX_RATE, len(rows), sum(row.quantity_sold for row in rows))


async def checkout(cur, store_id: int, lines: list[SaleLine], *, user_id: int | None = None) -> Checkout:
    """Sell a cart (duplicate SKUs merged) as one checkout."""
    checkout_id = str(uuid.uuid4())
    rows = await sell(cur, store_id, merge_lines(lines), user_id=user_id, checkout_id=checkout_id)
    return Checkout(True, checkout_id, rows, summary(rows))
