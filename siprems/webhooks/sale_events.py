"""Events a sale raises: `sale.created`, and `stock.out` / `stock.low` when
the sale moved a product into that stock status (as the stock policy judges
it; a product that stays low is not announced again at every sale)."""

from __future__ import annotations

import logging

from siprems import cache
from siprems.catalog.read import stock_rows
from siprems.db import Pool, fetch_one
from siprems.inventory import stock
from siprems.redis_client import Redis
from siprems.sales.ledger import TxRow
from siprems.sales.selling import Checkout
from siprems.webhooks import events

log = logging.getLogger("siprems.webhooks")


SUBSCRIBED_CACHE_SECONDS = 300


async def subscribed(pool: Pool, store_id: int, redis: Redis | None = None) -> set[str]:
    """The events some active endpoint of the store wants, through the store's cache
    (webhook writes bump `cache.WEBHOOKS`): every sale asks, few stores have endpoints.
    An endpoint disabled by its failures may linger here until then; `events.emit`
    checks again, so that costs a query, never a delivery."""

    async def load() -> list[str]:
        row = await fetch_one(
            pool,
            "SELECT array_agg(DISTINCT e) AS events FROM webhooks, unnest(events) e WHERE store_id = %s AND is_active",
            (store_id,),
        )
        return sorted(row["events"] or []) if row else []

    if redis is None:
        return set(await load())
    return set(
        await cache.cached(redis, store_id, (cache.WEBHOOKS,), "webhooks:events", SUBSCRIBED_CACHE_SECONDS, load)
    )


async def stock_transitions(pool: Pool, store_id: int, sold: dict[int, int]) -> dict[int, str]:
    """Product id -> the status ('out' | 'low') selling `sold[id]` units moved it
    into, as the stock policy judges it (before: the same product with those
    units still on the shelf)."""
    rows = await stock_rows(pool, store_id, product_ids=list(sold))
    now = await stock.assess_rows(pool, store_id, rows, cover=False)
    before_rows = [{**r, "stock": r["stock"] + sold.get(r["product_id"], 0)} for r in rows]
    before = {
        s.product_id: s.position.status for s in await stock.assess_rows(pool, store_id, before_rows, cover=False)
    }
    return {
        s.product_id: s.position.status
        for s in now
        if s.position.status in ("out", "low") and before.get(s.product_id) != s.position.status
    }


async def after_sale(pool: Pool, queue: Redis, redis: Redis, store_id: int, body: TxRow | Checkout) -> None:
    """Run after the sale committed (a background task): never raises."""
    try:
        wanted = await subscribed(pool, store_id, redis)
        if not wanted:
            return
        lines = body.transactions if isinstance(body, Checkout) else [body]
        if "sale.created" in wanted:
            await events.emit(pool, queue, store_id, "sale.created", body)
        if wanted & {"stock.low", "stock.out"}:
            sold: dict[int, int] = {}
            for line in lines:
                sold[line.product_id] = sold.get(line.product_id, 0) + line.quantity_sold
            names = {line.product_id: (line.product_sku, line.product_name) for line in lines}
            for product_id, status in (await stock_transitions(pool, store_id, sold)).items():
                event = f"stock.{status}"
                if event in wanted:
                    sku, name = names[product_id]
                    data = {"product_id": product_id, "sku": sku, "name": name, "status": status}
                    await events.emit(pool, queue, store_id, event, data)
    except Exception:
        log.exception("could not queue sale webhooks", extra={"store_id": store_id})
