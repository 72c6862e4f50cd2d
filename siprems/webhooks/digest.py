"""The daily `stock.digest` event (schedule `stock-digest`, 07:00 store time):
the products the restock advice says to order, and the open purchase orders
due by tomorrow. Stores without a `stock.digest` endpoint cost one query."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from siprems.calendar.locale import store_locale
from siprems.db import Pool, fetch_all
from siprems.jobs.context import JobContext
from siprems.purchasing import advice
from siprems.webhooks import events
from siprems.webhooks.sale_events import subscribed

HORIZON_DAYS = 14


async def contents(pool: Pool, store_id: int) -> dict[str, Any]:
    today = (await store_locale(pool, store_id)).today()
    items = await advice.restock_list(pool, store_id, HORIZON_DAYS)
    reorder = [
        {k: i.get(k) for k in ("sku", "productName", "currentStock", "recommendedRestock", "urgency")}
        for i in items
        if (i.get("recommendedRestock") or 0) > 0
    ]
    due = await fetch_all(
        pool,
        """SELECT o.po_id, s.name AS supplier_name, o.status, o.expected_date,
                  sum(l.quantity - l.quantity_received) AS open_quantity
           FROM purchase_orders o JOIN suppliers s USING (supplier_id) JOIN purchase_order_lines l USING (po_id)
           WHERE o.store_id = %s AND o.status IN ('ordered', 'partially_received') AND o.expected_date <= %s
           GROUP BY 1, 2, 3, 4 ORDER BY o.expected_date, o.po_id""",
        (store_id, today + timedelta(days=1)),
    )
    return {"date": today.isoformat(), "to_reorder": reorder, "orders_due": due}


async def send(ctx: JobContext) -> dict[str, Any]:
    if "stock.digest" not in await subscribed(ctx.pool, ctx.store_id, ctx.cache_redis):
        return {"sent": 0}
    data = await contents(ctx.pool, ctx.store_id)
    ids = await events.emit(ctx.pool, ctx.redis, ctx.store_id, "stock.digest", data, key=f"digest:{ctx.job_id}")
    return {"sent": len(ids), "to_reorder": len(data["to_reorder"]), "orders_due": len(data["orders_due"])}
