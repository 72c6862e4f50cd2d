"""Events a sale raises: `sale.created`, and `stock.out` / `stock.low` when
the sale moved a product into that stock status (as the stock policy judges
it; a product that stays low is not announced again at every sale)."""

from __future__ import annotations

import logging

from siprems.db import fetch_all, fetch_one
from siprems.webhooks import events

log = logging.getLogger("siprems.webhooks")


async def subscribed(pool, store_id: int) -> set[str]:
    row = await fetch_one(
        pool,
        "SELECT array_agg(DISTINCT e) AS events FROM webhooks, unnest(events) e WHERE store_id = %s AND is_active",
        (store_id,),
    )
    return set(row["events"] or []) if row else set()


async def stock_transitions(pool, store_id: int, sold: dict[int, int]) -> dict[int, str]:
    """Product id -> the status ('out' | 'low') the sale of `sold[id]` units moved it into.

    The status comes from the stock policy (siprems.inventory). Until the policy
    is on this branch only `out` (stock 0, which no rule disputes) is reported."""
    rows = await fetch_all(
        pool,
        "SELECT product_id, stock FROM products WHERE store_id = %s AND product_id = ANY(%s)",
        (store_id, list(sold)),
    )
    return {r["product_id"]: "out" for r in rows if r["stock"] == 0}


async def after_sale(pool, queue, store_id: int, body: dict) -> None:
    """Run after the sale committed (a background task): never raises."""
    try:
        wanted = await subscribed(pool, store_id)
        if not wanted:
            return
        lines = body.get("transactions") or [body]
        if "sale.created" in wanted:
            await events.emit(pool, queue, store_id, "sale.created", body)
        if wanted & {"stock.low", "stock.out"}:
            sold: dict[int, int] = {}
            for line in lines:
                sold[line["product_id"]] = sold.get(line["product_id"], 0) + line["quantity_sold"]
            names = {line["product_id"]: (line["product_sku"], line["product_name"]) for line in lines}
            for product_id, status in (await stock_transitions(pool, store_id, sold)).items():
                event = f"stock.{status}"
                if event in wanted:
                    sku, name = names[product_id]
                    data = {"product_id": product_id, "sku": sku, "name": name, "status": status}
                    await events.emit(pool, queue, store_id, event, data)
    except Exception:
        log.exception("could not queue sale webhooks", extra={"store_id": store_id})
