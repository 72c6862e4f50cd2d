"""Stock on order: what submitted purchase orders still have to deliver, per
product and expected date. The stock policy reads it as its `incoming` input
(through `siprems.inventory.stock.incoming_stock`), so the restock advice and
the stock status do not count the same units twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from siprems.db import fetch_all

OPEN_STATUSES = ("ordered", "partially_received")


async def open_quantities(
    pool, store_id: int, product_ids: Sequence[int] | None = None
) -> dict[int, list[tuple[date, int]]]:
    """Product id -> [(expected date, units not yet received)], earliest first."""
    rows = await fetch_all(
        pool,
        """SELECT l.product_id, o.expected_date, sum(l.quantity - l.quantity_received) AS qty
           FROM purchase_order_lines l JOIN purchase_orders o USING (po_id)
           WHERE o.store_id = %s AND o.status = ANY(%s) AND l.quantity > l.quantity_received
             AND (%s::bigint[] IS NULL OR l.product_id = ANY(%s::bigint[]))
           GROUP BY 1, 2 ORDER BY 1, 2""",
        (
            store_id,
            list(OPEN_STATUSES),
            None if product_ids is None else list(product_ids),
            None if product_ids is None else list(product_ids),
        ),
    )
    out: dict[int, list[tuple[date, int]]] = {}
    for r in rows:
        out.setdefault(r["product_id"], []).append((r["expected_date"], int(r["qty"])))
    return out
