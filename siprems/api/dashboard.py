"""Dashboard: `/api/dashboard-stats` (the frontend's path) and its alias
`/api/system/dashboard-stats`, `/api/dashboard/{metrics,sales-chart,
category-sales}`, and the public `/api/system/settings/status`.

Every figure is cached per store (`siprems.cache`, invalidated by each sale,
import, product and event write) under a name that includes the store's local
date, so a new day never serves yesterday's figures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Literal

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import json
from sanic_ext import openapi

from siprems import cache
from siprems.api import docs
from siprems.api.daily_cache import cached_for_today
from siprems.api.guard import authenticated
from siprems.api.responses import raw_json
from siprems.api.validation import validate
from siprems.calendar.locale import StoreLocale
from siprems.dashboard import figures
from siprems.dashboard import queries as q
from siprems.db import fetch_one

bp = Blueprint("dashboard")

AI_MODEL = "SIPREMS forecaster: ridge regression on calendar features + ETS residuals (per product)"
STATUS_TIMEOUT = 2.0


class MetricsQuery(BaseModel):
    range: Literal["today", "week", "month", "year"] = Field(
        "today", description="Rolling window of whole local days ending today: 1, 7, 30 or 365 days"
    )


STATS_DESCRIPTION = (
    "`salesTrend`: units sold on each of the last 7 local days (today included, zero days included), "
    "labelled Mon..Sun. `stockComparison`: the 5 most urgent products by the stock policy (out, then low, "
    "then fewest days of cover); `optimal` is the policy's order-up-to stock; `avg_daily_demand` is measured "
    f"over the last {q.DEMAND_WINDOW_DAYS} complete days. "
    "A transaction is one checkout (its lines count once)."
)


@dataclass
class SystemStatus:
    version: str
    last_updated: str | None  # when the newest migration was applied
    ai_model: str
    database_status: Literal["Connected", "Disconnected"]


async def _cached(request: Request, name: str, load: Callable[[object, StoreLocale], Awaitable]) -> bytes:
    """`load(db, locale)`, cached per store until the store's local midnight."""
    db = request.app.ctx.db
    # MODELS: the stock policy reads forecasts.
    families = (cache.SALES, cache.CATALOG, cache.MODELS)
    return await cached_for_today(request, families, f"dash:{name}", lambda locale: load(db, locale))


@bp.get("/api/dashboard-stats")
@bp.get("/api/system/dashboard-stats", name="system_dashboard_stats")  # the earlier backend's path
@openapi.summary("Dashboard cards, 7-day trend and stock comparison (also at /api/system/dashboard-stats)")
@openapi.description(STATS_DESCRIPTION)
@openapi.secured("bearerAuth")
@docs.response(200, figures.DashboardStats)
@docs.errors(401)
@authenticated
async def dashboard_stats(request: Request):
    return raw_json(await _cached(request, "stats", figures.dashboard_stats))


@bp.get("/api/dashboard/metrics")
@openapi.summary("Revenue, transactions and items sold vs the previous period of the same length")
@openapi.description("Changes are percentages with one decimal, null when the previous period is zero.")
@openapi.secured("bearerAuth")
@docs.query(MetricsQuery)
@docs.response(200, figures.Metrics)
@docs.errors(400, 401)
@authenticated
@validate(query=MetricsQuery)
async def dashboard_metrics(request: Request, query: MetricsQuery):
    return raw_json(
        await _cached(request, f"metrics:{query.range}", lambda db, locale: figures.metrics(db, locale, query.range))
    )


@bp.get("/api/dashboard/sales-chart")
@openapi.summary("Units, revenue and checkouts per day over the last 90 days (zero days included)")
@openapi.secured("bearerAuth")
@docs.response(200, list[figures.ChartDay])
@docs.errors(401)
@authenticated
async def sales_chart(request: Request):
    return raw_json(await _cached(request, "sales-chart", figures.sales_chart))


@bp.get("/api/dashboard/category-sales")
@openapi.summary("Revenue per category over the last 90 days, largest first")
@openapi.secured("bearerAuth")
@docs.response(200, list[figures.CategorySales])
@docs.errors(401)
@authenticated
async def category_sales(request: Request):
    return raw_json(await _cached(request, "category-sales", figures.category_sales))


def _version() -> str:
    try:
        return metadata.version("siprems")
    except metadata.PackageNotFoundError:
        return "0.0.0"


@bp.get("/api/system/settings/status")
@openapi.summary("Public system status: version, schema date, forecasting model, database connectivity")
@docs.response(200, SystemStatus)
async def settings_status(request: Request):
    try:
        row = await asyncio.wait_for(
            fetch_one(request.app.ctx.db, "SELECT max(applied_at) AS applied FROM schema_migrations"), STATUS_TIMEOUT
        )
        connected, updated = True, row["applied"].isoformat() if row and row["applied"] else None
    except Exception:  # noqa: BLE001 - any failure means "not connected"
        connected, updated = False, None
    return json(SystemStatus(_version(), updated, AI_MODEL, "Connected" if connected else "Disconnected"))
