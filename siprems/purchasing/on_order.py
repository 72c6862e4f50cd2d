"""Stock on order: what submitted purchase orders still have to deliver, per
product and expected date. The stock policy reads it as its `incoming` input
(through `siprems.inventory.stock.incoming_stock`), so the restock advice and
the stock status do not count the same units twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from siprems.db import fetch_all

OPEN_STATUSES = ("ordered", "partially_received")
_OPEN_SQL = ", ".join(f"'{status}'" for status in OPEN_STATUSES)


def open_column(product: str) -> str:
    """A select-list subquery: the open quantities of the product row `product`
    as JSON `[[expected date, units], ...]` (earliest first) or NULL, so a
    product read brings them along in its own round trip (see `open_quantities`)."""
    return f"""(SELECT json_agg(json_build_array(x.expected_date, x.qty) ORDER BY x.expected_date)
                  FROM (SELECT o.expected_date, sum(l.quantity - l.quantity_received) AS qty
                          FROM purchase_order_lines l JOIN purchase_orders o USING (po_id)
                         WHERE o.store_id = {product}.store_id AND l.product_id = {product}.product_id
                           AND o.status IN ({_OPEN_SQL}) AND l.quantity > l.quantity_received
                         GROUP BY 1) x)"""


def parse_open_column(value: list | None) -> list[tuple[date, int]]:
    """`open_column`'s JSON as `open_quantities` gives one product's rows."""
    return [(date.fromisoformat(day), int(qty)) for day, qty in value or ()]


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
