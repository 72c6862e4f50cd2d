"""The answer to "what will this product sell?": chart points over the
history window and the horizon (from today, not from the last sale), restock
advice, and accuracy measured on the model's holdout (not in-sample)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import (
    Any,
    NotRequired,  # pydantic documents only these TypedDicts on Python 3.11
)

from typing_extensions import TypedDict

from siprems.calendar.events import prediction_events
from siprems.calendar.locale import StoreLocale, store_locale
from siprems.catalog import read as catalog
from siprems.db import Pool, fetch_all
from siprems.forecasting import ForecastModel, baseline, holiday_names, registry
from siprems.forecasting.calendar import to_date
from siprems.forecasting.drivers import Drivers, explain
from siprems.forecasting.registry import chosen_holdout
from siprems.forecasting.service import closed_weekdays
from siprems.inventory.policy import COVER_HORIZON_DAYS, Incoming, assess, daily_sigma
from siprems.inventory.restock import Recommendation, recommendation
from siprems.inventory.stock import ProductStock, incoming_stock, item_of

Row = dict[str, Any]  # a product row (`catalog.read`), a stored model row, or a JSON body
STALE_AFTER_DAYS = 7  # a model that has not seen the last week is refreshed in the background


class ChartPoint(TypedDict):
    """One day of the chart: units sold (past days) or the forecast with its 95% and 80% bands."""

    date: str
    historical: float | None
    predicted: float | None
    lower: float | None
    upper: float | None
    lower80: float | None
    upper80: float | None
    isHoliday: bool
    holidayName: str | None


class ModelFacts(TypedDict):
    """The model the forecast comes from (`provisional`: the weekday-mean baseline, no model yet)."""

    model_id: int | None
    version: int | None
    method: str
    provisional: bool
    trained_at: str | None
    train_start: str | None
    train_end: str | None
    holdout: dict[str, Any]  # the chosen method's holdout metrics: mase, smape, wape (percent), coverage
    stale: bool
    message: NotRequired[str]


class Prediction(TypedDict):
    """The body of `POST /api/predict` (the contract's fields, plus drivers and model facts)."""

    product_sku: str
    forecast_days: int
    history_days: int
    today: str
    chartData: list[ChartPoint]
    accuracy: float | None  # 100 - holdout WAPE (percent); null without a model
    model: ModelFacts
    drivers: Drivers | None  # null for methods without a decomposition (baselines, short histories)
    recommendations: list[Recommendation]
    safetyStock: float | None
    reorderPoint: float | None
    daysOfStock: int | None
    leadTimeDays: int
    serviceLevel: float


def is_stale(model_row: dict[str, Any], today: date) -> bool:
    start = date.fromisoformat(model_row["model"]["start"])
    return (today - start).days > STALE_AFTER_DAYS


async def _history(
    pool: Pool, store: StoreLocale, product: dict[str, Any], start: date, end: date
) -> dict[date, float]:
    """Daily units sold in [start, end]. Read from the product row, so a product
    deleted since the request looked it up answers 404, not a forecast (or a 500)."""
    rows = await fetch_all(
        pool,
        """SELECT s.day, s.qty
           FROM products p
           LEFT JOIN LATERAL (
               SELECT (t.transaction_date AT TIME ZONE %s)::date AS day, sum(t.quantity_sold) AS qty
               FROM transactions t
               WHERE t.store_id = p.store_id AND t.product_id = p.product_id
                 AND t.transaction_date >= (%s::date - 1) AND t.transaction_date < (%s::date + 2)
               GROUP BY 1
           ) s ON TRUE
           WHERE p.store_id = %s AND p.product_id = %s""",
        (store.timezone, start, end, store.store_id, product["product_id"]),
    )
    if not rows:
        raise catalog.not_found(product["sku"])
    return {r["day"]: float(r["qty"]) for r in rows if r["day"] is not None and start <= r["day"] <= end}


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


async def model_view(pool: Pool, store: StoreLocale, product: Row, days: int, history_days: int = 90) -> Row:
    """The stock-independent part of a `/api/predict` body from the newest stored
    model: chart, model facts, accuracy, and the forecast rows the advice needs.
    Cached by model id; `compose` adds the stock-dependent advice per request.
    `store`: the caller's locale (the API reads it through the cache)."""
    model_row = await registry.latest(pool, store.store_id, product["product_id"])
    if model_row is None:
        return await baseline_view(pool, store, product, days, history_days)
    model = ForecastModel.from_dict(model_row["model"])
    holdout = chosen_holdout(model_row["model"])
    wape = holdout.get("wape")  # percent
    facts: ModelFacts = {
        "model_id": model_row["model_id"],
        "version": model_row["version"],
        "method": model.method,
        "provisional": False,
        "trained_at": model_row["trained_at"],
        "train_start": model.train_start,
        "train_end": model.train_end,
        "holdout": holdout,
        "stale": is_stale(model_row, store.today()),
    }
    accuracy = None if wape is None else round(max(0.0, min(100.0, 100.0 - float(wape))), 1)
    return await _view(pool, store, product, model, days, history_days, facts, accuracy)


async def baseline_view(pool: Pool, store: StoreLocale, product: Row, days: int, history_days: int = 90) -> Row:
    """Like `model_view`, from the provisional weekday-mean baseline (no model yet)."""
    today = store.today()
    since = today - timedelta(days=7 * baseline.WEEKS)
    shut = await closed_weekdays(pool, store.store_id)
    # One read of the sales for both the baseline's weeks and the chart's history.
    history = await _history(
        pool, store, product, min(since, today - timedelta(days=history_days)), today - timedelta(days=1)
    )
    sales = {day: qty for day, qty in history.items() if day >= since}
    events = await prediction_events(pool, store.store_id)
    closed = {to_date(e["date"]) for e in events if e.get("kind") == "store-closed"}
    model = baseline.baseline_model(sales, closed, shut, today)
    facts: ModelFacts = {
        "model_id": None,
        "version": None,
        "method": model.method,
        "provisional": True,
        "trained_at": None,
        "train_start": model.train_start,
        "train_end": model.train_end,
        "holdout": {},
        "stale": False,
        "message": "Provisional forecast (weekday means of recent weeks); the product's model is being trained.",
    }
    return await _view(pool, store, product, model, days, history_days, facts, None, events=events, history=history)


async def _view(
    pool: Pool,
    store: StoreLocale,
    product: dict[str, Any],
    model: ForecastModel,
    days: int,
    history_days: int,
    facts: ModelFacts,
    accuracy: float | None,
    events: list[dict[str, Any]] | None = None,
    history: dict[date, float] | None = None,
) -> dict[str, Any]:
    today = store.today()
    first = today - timedelta(days=history_days)
    last = today + timedelta(days=days - 1)
    if history is None:
        history = await _history(pool, store, product, first, today - timedelta(days=1))
    if events is None:
        events = await prediction_events(pool, store.store_id)
    flags = {
        f["date"]: f for f in holiday_names(first, last, country=store.country, subdiv=store.subdivision, events=events)
    }
    year = model.forecast(today, max(days, COVER_HORIZON_DAYS))
    rows = {r["date"]: r for r in year[:days]}
    chart: list[ChartPoint] = []
    day = first
    while day <= last:
        iso = day.isoformat()
        row = rows.get(iso)
        flag = flags.get(iso, {})
        chart.append(
            {
                "date": iso,
                "historical": history.get(day, 0.0) if day < today else None,
                "predicted": _round(row["yhat"]) if row else None,
                "lower": _round(row["lo95"]) if row else None,
                "upper": _round(row["hi95"]) if row else None,
                "lower80": _round(row["lo80"]) if row else None,
                "upper80": _round(row["hi80"]) if row else None,
                "isHoliday": bool(flag.get("isHoliday")),
                "holidayName": flag.get("holidayName"),
            }
        )
        day += timedelta(days=1)
    return {
        "product_sku": product["sku"],
        "forecast_days": days,
        "history_days": history_days,
        "today": today.isoformat(),
        "chartData": chart,
        "accuracy": accuracy,
        "model": facts,
        "drivers": explain(model, today, days),
        # For `compose` (not sent): a year of daily demand and its spread, the stock policy's input.
        "_year": [r["yhat"] for r in year],
        "_sigma": [round(daily_sigma(r), 6) for r in year],
    }


def compose(product: dict[str, Any], view: dict[str, Any], incoming: Sequence[Incoming] = ()) -> Prediction:
    """The contract's `/api/predict` body: a view plus the stock policy's advice for the
    product's current stock (`siprems.inventory`; a provisional baseline is not a model,
    so the reorder level decides then, as on every other surface)."""
    days = view["forecast_days"]
    demand = [{"yhat": y, "sigma": s} for y, s in zip(view["_year"], view["_sigma"], strict=True)]
    forecast = None if view["model"]["provisional"] else demand
    today = date.fromisoformat(view["today"])
    position = assess(item_of(product), forecast, today=today, incoming=incoming)
    row = recommendation(ProductStock(product, position, forecast, view["model"]["version"]), days)
    row["predictedDemand"] = round(sum(float(r["yhat"]) for r in demand[:days]))  # the chart's forecast
    return {
        "product_sku": view["product_sku"],
        "forecast_days": days,
        "history_days": view["history_days"],
        "today": view["today"],
        "chartData": view["chartData"],
        "accuracy": view["accuracy"],
        "model": view["model"],
        "drivers": view["drivers"],
        "recommendations": [row],
        "safetyStock": row["safetyStock"],
        "reorderPoint": row["reorderPoint"],
        "daysOfStock": row["daysOfStock"],
        "leadTimeDays": row["leadTimeDays"],
        "serviceLevel": row["serviceLevel"],
    }


async def answer(pool: Pool, store_id: int, product: dict[str, Any], days: int, history_days: int = 90) -> Prediction:
    """The whole `/api/predict` body for a product row (`catalog.read`), uncached (the async job's result)."""
    incoming = await incoming_stock(pool, store_id, [product["product_id"]])
    view = await model_view(pool, await store_locale(pool, store_id), product, days, history_days)
    return compose(product, view, incoming.get(product["product_id"], ()))
