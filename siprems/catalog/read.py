"""Product rows for readers outside the catalogue (stock policy, assistant):
the columns they may rely on, read in one place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from siprems.db import fetch_all

STOCK_COLUMNS = (
    "product_id, sku, name, category, price, stock, lead_time_days, service_level, reorder_level, is_archived"
)


async def stock_rows(
    pool: Any, store_id: int, *, product_ids: Sequence[int] | None = None, include_archived: bool = False
) -> list[dict[str, Any]]:
    """The store's products (active ones unless asked), ordered by name."""
    where = ["store_id = %(store)s"]
    if not include_archived:
        where.append("NOT is_archived")
    if product_ids is not None:
        where.append("product_id = ANY(%(ids)s)")
    return await fetch_all(
        pool,
        f"SELECT {STOCK_COLUMNS} FROM products WHERE {' AND '.join(where)} ORDER BY name, product_id",
        {"store": store_id, "ids": list(product_ids or [])},
    )
