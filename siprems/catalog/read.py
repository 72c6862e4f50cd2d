"""The one read model of products for readers outside the catalogue: the
columns they may rely on, read here, and the 404 of a missing SKU.

Who reads products, and how:
- whole rows: `stock_rows` (the stock policy, the assistant, webhooks' sale
  events, the training fan-out) and `product_by_sku` (`/api/predict`, the
  async prediction job);
- one query joining the product to something else (its newest model:
  `forecasting.registry`, `forecasting.store_forecast`): `stock_columns(alias)`,
  so the join stays one round trip without naming the columns again;
- filters and joins by key only (`product_id`, `store_id`, `sku`,
  `is_archived`): sales and model queries (forecasting's stale products and
  accuracy, the ledger's joins), and the dashboard's sales by `category`.
Not readers: the catalogue itself (`catalog/products.py`: the products API,
every column), and the writers that lock and change a product inside their own
transaction (a sale, a stock movement, purchasing's own fields, imports).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from siprems.db import Pool, fetch_all, fetch_one
from siprems.errors import NotFound

_STOCK_FIELDS = (
    "product_id",
    "sku",
    "name",
    "category",
    "price",
    "stock",
    "lead_time_days",
    "service_level",
    "reorder_level",
    "is_archived",
)
STOCK_COLUMNS = ", ".join(_STOCK_FIELDS)


def stock_columns(alias: str) -> str:
    """The stock columns qualified by a table alias, for joins (`p.product_id, p.sku, ...`)."""
    return ", ".join(f"{alias}.{name}" for name in _STOCK_FIELDS)


def not_found(sku: str) -> NotFound:
    """The 404 of a SKU the store does not have (another store's answers the same)."""
    return NotFound(f"Product with SKU {sku} not found", code="product_not_found")


MAX_SKU = 100  # longer strings are never a SKU: no query for them


async def product_by_sku(pool: Pool, store_id: int, sku: str, *, extra_columns: str = "") -> dict[str, Any] | None:
    """One product's stock row by SKU (archived ones too), or None. `extra_columns`
    as in `stock_rows`."""
    if len(sku) > MAX_SKU:
        return None
    return await fetch_one(
        pool,
        f"SELECT {STOCK_COLUMNS}{', ' + extra_columns if extra_columns else ''} FROM products "
        "WHERE store_id = %s AND sku = %s",
        (store_id, sku),
    )


async def stock_rows(
    pool: Pool,
    store_id: int,
    *,
    product_ids: Sequence[int] | None = None,
    include_archived: bool = False,
    extra_columns: str = "",
) -> list[dict[str, Any]]:
    """The store's products (active ones unless asked), ordered by name.
    `extra_columns`: select-list items over the table `products` that a caller's own
    module wrote (the stock policy's inputs), read in the same round trip."""
    where = ["store_id = %(store)s"]
    if not include_archived:
        where.append("NOT is_archived")
    if product_ids is not None:
        where.append("product_id = ANY(%(ids)s)")
    return await fetch_all(
        pool,
        f"SELECT {STOCK_COLUMNS}{', ' + extra_columns if extra_columns else ''} FROM products "
        f"WHERE {' AND '.join(where)} ORDER BY name, product_id",
        {"store": store_id, "ids": list(product_ids or [])},
    )
