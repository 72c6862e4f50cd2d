"""The stock policy applied to a store's products: reads the products
(through the catalogue), their newest forecast models (forecasting's
registry) and stock on order, and asks `policy.assess` for each one.

Stock on order: :func:`incoming_stock` is the one place that reads it (open
purchase orders, `siprems.purchasing.on_order`); its result is passed to the
policy per product.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from siprems.calendar.locale import store_locale, zone
from siprems.catalog.read import product_by_sku, stock_rows
from siprems.forecasting import model_cache, registry
from siprems.forecasting.result import ForecastModel
from siprems.inventory.policy import (
    COVER_HORIZON_DAYS,
    REVIEW_DAYS,
    STATUS_RANK,
    Incoming,
    StockItem,
    StockPosition,
    assess,
)
from siprems.purchasing import on_order

log = logging.getLogger("siprems.inventory")


@dataclass(frozen=True)
class ProductStock:
    """One product with the policy's verdict and the forecast it was based on."""

    product: dict[str, Any]  # catalogue row (`siprems.catalog.read.STOCK_COLUMNS`)
    position: StockPosition
    forecast: list[dict[str, Any]] | None  # rows from today; None without a model
    model_version: int | None
    model: dict[str, Any] | None = None  # the stored model the forecast came from (for its drivers)

    @property
    def product_id(self) -> int:
        return int(self.product["product_id"])


# The policy's per-product inputs as extra columns of a product read (one round trip):
# the newest model's [id, version], stock on order, and the store's time zone ("today").
POLICY_KEYS = ("policy_model", "policy_incoming", "policy_timezone")


def policy_columns(product: str) -> str:
    """Select-list items for the product row `product` (a table name or alias with
    `store_id` and `product_id`) that `assess_rows` uses instead of its own queries."""
    return (
        f"{model_cache.newest_column(product)} AS policy_model, "
        f"{on_order.open_column(product)} AS policy_incoming, "
        f"(SELECT timezone FROM stores st WHERE st.store_id = {product}.store_id) AS policy_timezone"
    )


@dataclass(frozen=True)
class PolicyInputs:
    """What the policy needs beside a product row: its newest model, stock on order, today."""

    model_id: int | None
    version: int | None
    incoming: list[Incoming]
    today: date


def _inputs(row: dict[str, Any]) -> PolicyInputs:
    """Pops `policy_columns`' keys off `row`."""
    newest = row.pop("policy_model") or (None, None)
    incoming = [Incoming(quantity=q, expected=d) for d, q in on_order.parse_open_column(row.pop("policy_incoming"))]
    today = datetime.now(zone(row.pop("policy_timezone"))).date()
    return PolicyInputs(newest[0], newest[1], incoming, today)


async def product_with_inputs(pool: Any, store_id: int, sku: str) -> tuple[dict[str, Any], PolicyInputs] | None:
    """One product's stock row (by SKU) and its policy inputs in one query; None when the store has no such SKU."""
    row = await product_by_sku(pool, store_id, sku, extra_columns=policy_columns("products"))
    return None if row is None else (row, _inputs(row))


def _embedded(rows: Sequence[Mapping[str, Any]]) -> bool:
    return bool(rows) and all(k in rows[0] for k in POLICY_KEYS)


def item_of(row: Mapping[str, Any]) -> StockItem:
    return StockItem(
        stock=int(row["stock"]),
        lead_time_days=int(row["lead_time_days"]),
        service_level=float(row["service_level"]),
        reorder_level=int(row["reorder_level"]),
    )


async def incoming_stock(pool: Any, store_id: int, product_ids: Sequence[int]) -> dict[int, list[Incoming]]:
    """Stock on order per product, by expected date: what submitted purchase orders still have to deliver."""
    found = await on_order.open_quantities(pool, store_id, product_ids)
    return {pid: [Incoming(quantity=qty, expected=day) for day, qty in rows] for pid, rows in found.items()}


def _forecast(model: ForecastModel | None, today: date, days: int, product_id: int) -> list[dict[str, Any]] | None:
    if model is None:
        return None
    try:
        return model.forecast(today, days)
    except (KeyError, TypeError, ValueError) as exc:  # an unreadable model counts as none
        log.warning("unreadable forecast model for product %s: %r", product_id, exc)
        return None


def urgent_first(items: list[ProductStock]) -> list[ProductStock]:
    """Out, then low, then ok; within each, fewest days of cover, then lowest stock, then name."""
    return sorted(
        items,
        key=lambda s: (
            STATUS_RANK[s.position.status],
            s.position.days_of_cover if s.position.days_of_cover is not None else 10**6,
            s.position.stock,
            s.product["name"],
            s.product_id,
        ),
    )


async def assess_rows(
    pool: Any,
    store_id: int,
    rows: Sequence[Mapping[str, Any]],
    *,
    today: date | None = None,
    cover: bool = True,
    with_drivers: bool = False,
) -> list[ProductStock]:
    """The policy for products already read (rows with the stock columns).
    Rows read with `policy_columns` carry the policy's inputs (no further query but
    for models this process has not parsed yet); those keys are left out of
    `ProductStock.product`.
    `with_drivers`: also read each newest model whole (its driver terms, for the restock list)."""
    ids = [int(r["product_id"]) for r in rows]
    if _embedded(rows):
        copies = [dict(r) for r in rows]
        inputs = {int(r["product_id"]): _inputs(r) for r in copies}
        rows = copies
        if today is None:
            today = next(iter(inputs.values())).today
        newest = [
            {"product_id": pid, "model_id": i.model_id, "version": i.version}
            for pid, i in inputs.items()
            if i.model_id is not None
        ]
        models = await model_cache.parsed(pool, store_id, newest)
        incoming = {pid: i.incoming for pid, i in inputs.items()}
    else:
        if today is None:
            today = (await store_locale(pool, store_id)).today()
        models = await model_cache.newest(pool, store_id, ids)
        incoming = await incoming_stock(pool, store_id, ids)
    stored = await registry.latest_models(pool, store_id, ids) if with_drivers else {}
    out = []
    for row in rows:
        pid = int(row["product_id"])
        item = item_of(row)
        found = models.get(pid)
        days = COVER_HORIZON_DAYS if cover else item.lead_time_days + REVIEW_DAYS
        forecast = _forecast(found.model if found else None, today, days, pid)
        version = found.version if found and forecast else None
        whole = stored.get(pid)
        model = whole["model"] if whole and version is not None and whole["version"] == version else None
        position = assess(item, forecast, today=today, incoming=incoming.get(pid, ()))
        out.append(ProductStock(dict(row), position, forecast, version, model))
    return out


async def store_stock(
    pool: Any, store_id: int, *, today: date | None = None, with_drivers: bool = False
) -> list[ProductStock]:
    """Every active product of the store with its stock position, most urgent first."""
    rows = await stock_rows(pool, store_id, extra_columns=policy_columns("products"))
    return urgent_first(await assess_rows(pool, store_id, rows, today=today, with_drivers=with_drivers))


async def statuses(pool: Any, store_id: int, rows: list[dict[str, Any]]) -> dict[int, str]:
    """product_id -> `out` | `low` | `ok` for product responses. Rows read with
    `policy_columns` lose those keys here (they are not part of a product's answer)."""
    if not rows:
        return {}
    found: dict[int, str] = {
        s.product_id: s.position.status for s in await assess_rows(pool, store_id, rows, cover=False)
    }
    for row in rows:
        for key in POLICY_KEYS:
            row.pop(key, None)
    return found


def counts(items: Sequence[ProductStock]) -> dict[str, int]:
    """How many products are in each status; `low_stock_items` counts out and low."""
    by = {"out": 0, "low": 0, "ok": 0}
    for s in items:
        by[s.position.status] += 1
    return {**by, "low_stock_items": by["out"] + by["low"]}
