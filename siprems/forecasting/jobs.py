"""Forecasting's job types and schedules (registered by `siprems.jobtypes`):
train one product, train a store's (stale) products as a fan-out, and the
async form of a prediction; nightly and hourly retraining per store.

Training runs here, in workers, never in the API. The job id is the
training run id: a redelivered job stores one model version, not two.
"""

from __future__ import annotations

from typing import Any

import psycopg2.errors

from siprems.calendar.locale import store_locale
from siprems.catalog import read as catalog
from siprems.db import fetch_all
from siprems.forecasting import accuracy, prediction, registry, service
from siprems.jobs.context import ChildJob, JobContext, WaitForChildren
from siprems.jobs.errors import PermanentError
from siprems.jobs.registry import TRAINING_QUEUE, JobType, Schedule
from siprems.webhooks import events as webhook_events

# Stale: no model yet, or the latest is over a day old and sales were recorded since.
STALE_PRODUCTS = """
SELECT p.product_id, p.sku
FROM products p
LEFT JOIN LATERAL (
    SELECT max(m.trained_at) AS trained_at FROM forecast_models m WHERE m.product_id = p.product_id
) latest ON TRUE
WHERE p.store_id = %s AND NOT p.is_archived
  AND (latest.trained_at IS NULL OR latest.trained_at < now() - interval '24 hours')
  AND EXISTS (
    SELECT 1 FROM transactions t
    WHERE t.product_id = p.product_id AND t.store_id = p.store_id
      AND t.created_at > coalesce(latest.trained_at, '-infinity'::timestamptz)
  )
ORDER BY p.product_id
"""


async def train_product(ctx: JobContext, product_id: int, sku: str | None = None, **_: Any) -> dict[str, Any]:
    if not await catalog.stock_rows(ctx.pool, ctx.store_id, product_ids=[int(product_id)]):
        raise PermanentError(f"Product {product_id} does not exist in this store (deleted or archived)")
    await ctx.check_cancelled()
    result = await _train(ctx, int(product_id))
    data = {"product_id": int(product_id), "sku": sku, "job_id": ctx.job_id}
    data.update({k: result[k] for k in ("version", "method", "model_id") if k in result})
    await webhook_events.emit_quietly(
        ctx.pool, ctx.redis, ctx.store_id, "forecast.ready", data, key=f"forecast:{ctx.job_id}"
    )
    return result


async def train_all(ctx: JobContext, only_stale: bool = False, **_: Any) -> WaitForChildren:
    """Fan-out parent: one train_product child per (stale) product of the store;
    it finishes when all children have finished."""
    if only_stale:
        rows = await fetch_all(ctx.pool, STALE_PRODUCTS, (ctx.store_id,))
    else:
        rows = await catalog.stock_rows(ctx.pool, ctx.store_id)
    children = [
        ChildJob("train_product", {"product_id": r["product_id"], "sku": r["sku"]}, f"p{r['product_id']}") for r in rows
    ]
    return await ctx.fan_out(children, message=f"Training {len(children)} products")


async def predict(ctx: JobContext, product_sku: str, days: int = 30, **_: Any) -> dict[str, Any]:
    """`/api/predict/async`: trains first when the product has no model or a stale one."""
    await ctx.check_cancelled()
    product = await catalog.product_by_sku(ctx.pool, ctx.store_id, product_sku)
    if product is None:
        raise PermanentError(f"Product with SKU {product_sku} not found")
    model_row = await registry.latest(ctx.pool, ctx.store_id, product["product_id"])
    today = (await store_locale(ctx.pool, ctx.store_id)).today()
    if model_row is None or prediction.is_stale(model_row, today):
        await _train(ctx, product["product_id"])
    return dict(await prediction.answer(ctx.pool, ctx.store_id, product, int(days)))


async def _train(ctx: JobContext, product_id: int) -> dict[str, Any]:
    if ctx.cache_redis is None:  # the runtime always hands one; a model no cached read sees would be served late
        raise PermanentError("Training needs the cache Redis (to invalidate cached predictions).")
    try:
        return await service.train_product(
            ctx.pool, ctx.store_id, product_id, run_id=ctx.job_id, ctx=ctx, redis=ctx.cache_redis
        )
    except psycopg2.errors.ForeignKeyViolation as exc:
        # The model's product row went away during the fit: no retry can succeed.
        raise PermanentError("The product was deleted while it was being trained.") from exc


async def track_accuracy(ctx: JobContext, **_: Any) -> dict[str, Any]:
    """Forecasts against what sold: the store's live accuracy; drifting products are retrained."""
    return await accuracy.track_store(ctx.pool, ctx.store_id, queue=ctx.redis)


JOB_TYPES = (
    JobType("train_product", train_product, queue=TRAINING_QUEUE, max_retries=3, timeout=1800, backoff_base=10),
    JobType("train_all", train_all, max_retries=3, timeout=300),
    JobType("predict", predict, max_retries=2, timeout=300),
    JobType("track_accuracy", track_accuracy, max_retries=2, timeout=900),
)
SCHEDULES = (
    Schedule(
        "nightly-retrain",
        "0 2 * * *",
        "train_all",
        {"trigger": "nightly"},
        per_store=True,
        catchup_seconds=6 * 3600,
    ),
    Schedule(
        "hourly-stale-retrain",
        "20 * * * *",
        "train_all",
        {"only_stale": True, "trigger": "hourly"},
        per_store=True,
        result_ttl_seconds=3 * 3600,  # a few hours of /api/tasks history, not a week of 24 a day per store
    ),
    Schedule(
        "daily-forecast-accuracy",  # before the nightly retrain: yesterday is scored against the model it had
        "30 1 * * *",
        "track_accuracy",
        {"trigger": "daily"},
        per_store=True,
        catchup_seconds=12 * 3600,
    ),
)
