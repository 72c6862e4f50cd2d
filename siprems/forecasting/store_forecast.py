"""The store-level forecast: total units and revenue over a horizon, with intervals
aggregated from the products' predictive spreads (not by summing interval bounds).

Each product-day's spread is ``inventory.policy.daily_sigma`` (read from its 95%
interval), and, as the stock policy does over a lead time, days and products
are treated as independent: the variance of a total is the sum of the
variances (revenue: each product's variance times its price squared).  Summing
the products' 95% bounds instead would claim that every product has its worst
(or best) day on every day at once - far too wide a band for a store.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from typing_extensions import TypedDict  # pydantic documents only this TypedDict on Python 3.11

from siprems.calendar.locale import store_locale
from siprems.catalog import read as catalog
from siprems.db import Pool, fetch_all
from siprems.inventory.policy import Z80, Z95, daily_sigma

from .result import ForecastModel


@dataclass(frozen=True)
class ProductPath:
    price: float
    rows: Sequence[dict[str, Any]]  # forecast rows (date, yhat, lo95, hi95, ...) from the first day


class Band(TypedDict):
    """A total with its 80% and 95% interval (`lower`/`upper`: 95%)."""

    predicted: float
    lower80: float
    upper80: float
    lower: float
    upper: float


class StoreDay(TypedDict):
    date: str
    units: Band
    revenue: Band


class Totals(TypedDict):
    units: Band
    revenue: Band
    daily: list[StoreDay]


class StoreForecast(TypedDict):
    """The body of `GET /api/predict/store`."""

    today: str
    forecast_days: int
    products_forecast: int
    products_without_model: int  # left out: no model yet
    interval_method: str
    units: Band
    revenue: Band
    daily: list[StoreDay]


def _band(mean: float, var: float) -> Band:
    sd = math.sqrt(max(var, 0.0))
    return {
        "predicted": round(mean, 2),
        "lower80": round(max(mean - Z80 * sd, 0.0), 2),
        "upper80": round(mean + Z80 * sd, 2),
        "lower": round(max(mean - Z95 * sd, 0.0), 2),
        "upper": round(mean + Z95 * sd, 2),
    }


def aggregate(paths: Sequence[ProductPath], first: dt.date, days: int) -> Totals:
    """Daily and horizon totals of units and revenue with their 80/95% intervals."""
    units = [0.0] * days
    units_var = [0.0] * days
    revenue = [0.0] * days
    revenue_var = [0.0] * days
    for p in paths:
        for row in p.rows:
            k = (dt.date.fromisoformat(row["date"]) - first).days
            if 0 <= k < days:
                var = daily_sigma(row) ** 2
                units[k] += float(row["yhat"])
                units_var[k] += var
                revenue[k] += p.price * float(row["yhat"])
                revenue_var[k] += p.price**2 * var
    daily: list[StoreDay] = [
        {
            "date": (first + dt.timedelta(days=k)).isoformat(),
            "units": _band(units[k], units_var[k]),
            "revenue": _band(revenue[k], revenue_var[k]),
        }
        for k in range(days)
    ]
    return {
        "units": _band(sum(units), sum(units_var)),
        "revenue": _band(sum(revenue), sum(revenue_var)),
        "daily": daily,
    }


PRODUCTS_WITH_MODELS = f"""
SELECT {catalog.stock_columns("p")}, m.model
  FROM products p
  LEFT JOIN LATERAL (SELECT model FROM forecast_models f WHERE f.product_id = p.product_id
                      ORDER BY version DESC LIMIT 1) m ON TRUE
 WHERE p.store_id = %s AND NOT p.is_archived"""


async def store_forecast(pool: Pool, store_id: int, days: int) -> StoreForecast:
    """`GET /api/predict/store`: the store's expected units and revenue over ``days`` days from today."""
    today = (await store_locale(pool, store_id)).today()
    paths, missing = [], 0
    for row in await fetch_all(pool, PRODUCTS_WITH_MODELS, (store_id,)):
        if row["model"] is None:
            missing += 1
            continue
        paths.append(ProductPath(float(row["price"]), ForecastModel.from_dict(row["model"]).forecast(today, days)))
    body = aggregate(paths, today, days)
    return {
        "today": today.isoformat(),
        "forecast_days": days,
        "products_forecast": len(paths),
        "products_without_model": missing,
        "interval_method": "sum of product-day variances (independent days and products), not summed bounds",
        "units": body["units"],
        "revenue": body["revenue"],
        "daily": body["daily"],
    }
