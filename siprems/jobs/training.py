"""Training and prediction handlers. The forecasting code itself lives in
`siprems.forecasting.service`; it is imported lazily so the queue runs (and
fails these jobs with a clear error) before that module exists.

Expected signatures (async or plain functions):
    train_product(pool, store_id, product_id, run_id, ctx) -> JSON-able summary
        run_id is the job id: one model version per run id keeps a re-run idempotent.
    predict(pool, store_id, product_sku, days, ctx) -> JSON-able forecast
"""

from __future__ import annotations

import importlib
import inspect

from siprems.db import fetch_all, fetch_one
from siprems.jobs.context import ChildJob, JobContext, PermanentError, WaitForChildren

SERVICE = "siprems.forecasting.service"

ACTIVE_PRODUCTS = """
SELECT product_id, sku FROM products
WHERE store_id = %s AND NOT is_archived
ORDER BY product_id
"""

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


def service_function(name: str):
    """The forecasting service's `name`, or a PermanentError saying it is missing."""
    try:
        module = importlib.import_module(SERVICE)
    except ModuleNotFoundError as exc:
        if exc.name and SERVICE.startswith(exc.name):
            raise PermanentError(f"Forecasting is not available yet: {SERVICE} does not exist") from None
        raise PermanentError(f"Forecasting cannot be loaded: {exc}") from exc
    fn = getattr(module, name, None)
    if fn is None:
        raise PermanentError(f"Forecasting is not available yet: {SERVICE}.{name} does not exist")
    return fn


async def _call(fn, *args):
    result = fn(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


async def train_product(ctx: JobContext, product_id: int):
    product = await fetch_one(
        ctx.pool,
        "SELECT product_id FROM products WHERE store_id = %s AND product_id = %s AND NOT is_archived",
        (ctx.store_id, product_id),
    )
    if product is None:
        raise PermanentError(f"Product {product_id} does not exist in this store (deleted or archived)")
    fn = service_function("train_product")
    await ctx.check_cancelled()
    return await _call(fn, ctx.pool, ctx.store_id, product_id, ctx.job_id, ctx)


async def train_all(ctx: JobContext, only_stale: bool = False) -> WaitForChildren:
    service_function("train_product")  # fail fast, not once per product
    rows = await fetch_all(ctx.pool, STALE_PRODUCTS if only_stale else ACTIVE_PRODUCTS, (ctx.store_id,))
    children = [
        ChildJob("train_product", {"product_id": r["product_id"], "sku": r["sku"]}, f"p{r['product_id']}") for r in rows
    ]
    return await ctx.fan_out(children, message=f"Training {len(children)} products")


async def predict(ctx: JobContext, product_sku: str, days: int):
    fn = service_function("predict")
    await ctx.check_cancelled()
    return await _call(fn, ctx.pool, ctx.store_id, product_sku, days, ctx)
