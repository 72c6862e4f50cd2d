"""The restock advice purchasing works from: the store's restock list (the
stock policy's, through `siprems.inventory.restock` once that is on this
branch; until then the forecasting restock overview it replaces). Rows carry
`productId`, `sku` and `recommendedRestock`."""

from __future__ import annotations

import importlib.util


async def restock_list(pool, store_id: int, horizon_days: int = 14) -> list[dict]:
    if importlib.util.find_spec("siprems.inventory.restock") is not None:
        from siprems.inventory import restock

        return await restock.restock_list(pool, store_id, horizon_days)
    from siprems.forecasting import prediction

    return await prediction.restock_overview(pool, store_id, horizon_days)
