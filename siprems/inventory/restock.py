"""Restock advice in the contract's shape (`recommendations[]` of
`/api/predict` and the items of `/api/predict/restock`), from the policy."""

from __future__ import annotations

from typing import (
    Any,
    Literal,
    NotRequired,  # pydantic documents only these TypedDicts on Python 3.11
)

from typing_extensions import TypedDict

from siprems.forecasting.drivers import driver_lines
from siprems.inventory.stock import ProductStock, store_stock

URGENCY_RANK = {"high": 0, "medium": 1, "low": 2}
NO_MODEL_MESSAGE = (
    "No forecast yet: low means stock at or below the reorder level; "
    "train this product (POST /api/tasks/training/product/<sku>) for forecast-based advice."
)


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


class Recommendation(TypedDict):
    """One product's restock advice: `recommendations[]` of `/api/predict`, the items of `/api/predict/restock`."""

    productId: int
    sku: str
    productName: str
    category: str | None
    currentStock: int
    predictedDemand: int | None  # units forecast over the horizon (null: no forecast)
    recommendedRestock: int
    urgency: Literal["high", "medium", "low"]
    stockStatus: Literal["out", "low", "ok"]
    safetyStock: float | None
    reorderPoint: float | None
    reorderLevel: int
    leadTimeDemand: float | None
    daysOfStock: int | None  # whole days the stock covers (null: no forecast, or more than a year)
    leadTimeDays: int
    serviceLevel: float
    incomingStock: int  # on order and due within the lead time
    basis: Literal["forecast", "reorder_level"]
    modelVersion: int | None
    drivers: list[str] | None  # the biggest drivers over the horizon, e.g. "Idul Fitri +35% on 2027-03-20"
    message: NotRequired[str]  # without a forecast: how the advice was made


def recommendation(s: ProductStock, horizon_days: int) -> Recommendation:
    """One product's advice; `predictedDemand` is the forecast over `horizon_days`."""
    p, pos = s.product, s.position
    demand = None if s.forecast is None else round(sum(float(r["yhat"]) for r in s.forecast[:horizon_days]))
    body: Recommendation = {
        "productId": p["product_id"],
        "sku": p["sku"],
        "productName": p["name"],
        "category": p.get("category"),
        "currentStock": pos.stock,
        "predictedDemand": demand,
        "recommendedRestock": pos.recommended_order,
        "urgency": pos.urgency,
        "stockStatus": pos.status,
        "safetyStock": _round(pos.safety_stock),
        "reorderPoint": _round(pos.reorder_point),
        "reorderLevel": int(p["reorder_level"]),
        "leadTimeDemand": _round(pos.lead_time_demand),
        "daysOfStock": pos.days_of_cover,
        "leadTimeDays": pos.lead_time_days,
        "serviceLevel": pos.service_level,
        "incomingStock": pos.incoming,
        "basis": pos.basis,
        "modelVersion": s.model_version,
        "drivers": (
            driver_lines(s.model, s.forecast[0]["date"], horizon_days) if s.model is not None and s.forecast else None
        ),
    }
    if s.forecast is None:
        body["message"] = NO_MODEL_MESSAGE
    return body


async def restock_list(pool: Any, store_id: int, horizon_days: int = 14) -> list[Recommendation]:
    """Every active product with advice, most urgent first."""
    items = [recommendation(s, horizon_days) for s in await store_stock(pool, store_id, with_drivers=True)]
    items.sort(
        key=lambda r: (
            URGENCY_RANK[r["urgency"]],
            r["daysOfStock"] if r["daysOfStock"] is not None else 10**6,
            r["currentStock"],
            r["sku"],
        )
    )
    return items
