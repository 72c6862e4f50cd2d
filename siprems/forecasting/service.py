"""Forecasting against the database: load a product's history, train, store
the model in the registry, and answer predictions (used by the API, the job
handlers and the assistant; no Sanic imports).

History: daily units per product in the store's local time zone. Days the
store is closed (store-closed events, weekdays marked closed in opening
hours) are missing data, not zeros; open days without sales are zeros.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import date, datetime, timedelta
from typing import Any

from siprems import cache, metrics
from siprems.calendar.events import prediction_events
from siprems.calendar.locale import StoreLocale, store_locale
from siprems.db import Pool, fetch_all, fetch_one
from siprems.forecasting import ForecastModel, registry, train
from siprems.forecasting.stockouts import stockout_days
from siprems.inventory import ledger
from siprems.jobs.context import JobContext
from siprems.redis_client import Redis

log = logging.getLogger("siprems.forecasting")

HISTORY_WINDOW_DAYS = 3 * 365  # older sales add little and cost fit time
SYNC_TRAIN_MAX_DAYS = 1200  # longer histories train in a worker (fit > ~1 s)
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


async def daily_sales(pool: Pool, store: StoreLocale, product_id: int, since: date) -> list[tuple[date, float, bool]]:
    rows = await fetch_all(
        pool,
        """SELECT (transaction_date AT TIME ZONE %s)::date AS day, sum(quantity_sold) AS qty, bool_or(is_promo) AS promo
           FROM transactions
           WHERE store_id = %s AND product_id = %s AND transaction_date >= %s::date - 1
           GROUP BY 1 ORDER BY 1""",
        (store.timezone, store.store_id, product_id, since),
    )
    return [(r["day"], float(r["qty"]), bool(r["promo"])) for r in rows if r["day"] >= since]


async def closed_weekdays(pool: Pool, store_id: int) -> set[int]:
    rows = await fetch_all(pool, "SELECT day_of_week FROM opening_hours WHERE store_id = %s AND is_closed", (store_id,))
    return {DAY_NAMES.index(r["day_of_week"]) for r in rows}


async def stockouts(
    pool: Pool, store: StoreLocale, product_id: int, since: date, today: date
) -> list[tuple[date, date | None]]:
    """The product's stock-out intervals since ``since`` from the stock ledger, as local days."""
    zone = store.tz
    start = datetime.combine(since, datetime.min.time(), zone)
    end = datetime.combine(today, datetime.min.time(), zone)
    found = await ledger.stockout_intervals(pool, store.store_id, start, end, [product_id])
    return [
        (began.astimezone(zone).date(), back.astimezone(zone).date() if back is not None else None)
        for began, back in found.get(product_id, [])
    ]


async def training_inputs(pool: Pool, store: StoreLocale, product_id: int) -> dict[str, Any]:
    today = store.today()
    since = today - timedelta(days=HISTORY_WINDOW_DAYS)
    sales, events, shut, out = await asyncio.gather(
        daily_sales(pool, store, product_id, since),
        prediction_events(pool, store.store_id),
        closed_weekdays(pool, store.store_id),
        stockouts(pool, store, product_id, since, today),
    )
    closed: set[date] = set()
    if sales and shut:
        day = sales[0][0]
        while day < today:
            if day.weekday() in shut:
                closed.add(day)
            day += timedelta(days=1)
    # Days this product sold on promotion are promotion events for the model.
    events = events + [{"date": d, "name": "promo", "kind": "promotion"} for d, _, promo in sales if promo]
    return {
        "sales": [(d, q) for d, q, _ in sales],
        "closed_days": closed,
        "stockout_days": stockout_days(out, until=today - timedelta(days=1), sold_on=(d for d, q, _ in sales if q > 0)),
        "events": events,
        "country": store.country,
        "subdiv": store.subdivision,
        "today": today,
    }


def _fit(inputs: dict[str, Any], warm: dict[str, Any] | None) -> tuple[ForecastModel, float]:
    started = time.perf_counter()
    model = train(
        inputs["sales"],
        closed_days=inputs["closed_days"],
        stockout_days=inputs.get("stockout_days", ()),
        events=inputs["events"],
        country=inputs["country"],
        subdiv=inputs["subdiv"],
        today=inputs["today"],
        warm_start=warm,
    )
    return model, time.perf_counter() - started


async def train_product(
    pool: Pool,
    store_id: int,
    product_id: int,
    run_id: str | None = None,
    ctx: JobContext | None = None,
    *,
    redis: Redis,
) -> dict[str, Any]:
    """Train one product and store the model as a new version (idempotent per run id);
    `redis` is the cache Redis, whose cached predictions and stock reads must see the model."""
    store = await store_locale(pool, store_id)
    inputs = await training_inputs(pool, store, product_id)
    previous = await registry.latest(pool, store_id, product_id)
    if ctx is not None:
        await ctx.check_cancelled()
        await ctx.progress(30, "history loaded")
    model, seconds = await asyncio.to_thread(_fit, inputs, previous["model"] if previous else None)
    if ctx is not None:
        await ctx.check_cancelled()
    saved = await registry.save(pool, store_id=store_id, product_id=product_id, model=model.to_dict(), run_id=run_id)
    await cache.invalidate(redis, store_id, cache.MODELS)
    holdout = registry.chosen_holdout(model.to_dict())
    metrics.FORECAST_FIT.labels(model.method).observe(seconds)
    if holdout.get("wape") is not None:
        metrics.FORECAST_ERROR.labels(model.method).observe(float(holdout["wape"]) / 100.0)
    log.info(
        "trained product",
        extra={
            "store_id": store_id,
            "product_id": product_id,
            "method": model.method,
            "fit_seconds": round(seconds, 3),
            "holdout": holdout,
            "version": saved["version"],
            "run_id": run_id,
        },
    )
    return {
        "product_id": product_id,
        "model_id": saved["model_id"],
        "version": saved["version"],
        "created": saved["created"],
        "method": model.method,
        "fit_seconds": round(seconds, 3),
        "n_obs": model.n_obs,
        "holdout": holdout,
    }


async def history_length(pool: Pool, store_id: int, product_id: int) -> int:
    row = await fetch_one(
        pool,
        "SELECT min(transaction_date) AS first FROM transactions WHERE store_id = %s AND product_id = %s",
        (store_id, product_id),
    )
    if not row or row["first"] is None:
        return 0
    first: datetime = row["first"]
    return (datetime.now(first.tzinfo) - first).days + 1
