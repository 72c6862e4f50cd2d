"""The restock advice purchasing works from: the stock policy's restock list
(`siprems.inventory.restock`), which already counts stock on order. Rows
carry `productId`, `sku` and `recommendedRestock`."""

from __future__ import annotations

from siprems.inventory import restock


async def restock_list(pool, store_id: int, horizon_days: int = 14) -> list[dict]:
    return await restock.restock_list(pool, store_id, horizon_days)
