"""`/api/predict`: per-product forecasts with restock advice, the async form
as a job, and the store-wide restock list."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import json
from sanic_ext import openapi

from siprems import cache, metrics
from siprems.api import docs
from siprems.api.guard import authenticated, caller_locale
from siprems.api.validation import validate
from siprems.catalog import read as catalog
from siprems.errors import NotFound
from siprems.forecasting import accuracy as forecast_accuracy
from siprems.forecasting import prediction, store_forecast, training_requests
from siprems.inventory.restock import Recommendation, restock_list
from siprems.inventory.stock import product_with_inputs
from siprems.jobs import producer, records

bp = Blueprint("predict", url_prefix="/api/predict")
log = logging.getLogger("siprems.api.predict")

PREDICT_CACHE_TTL = 600
BASELINE_CACHE_TTL = 60  # provisional: until the product's first model is stored
NO_MODEL_YET = "No model yet; training started. Poll /api/predict/task/<task_id>."


class PredictBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    product_sku: str = Field(min_length=1, max_length=50)
    days: int = Field(default=7, ge=1, le=365)
    history_days: int = Field(default=90, ge=0, le=730)
    wait_for_model: bool = Field(
        default=False, description="Without a model: 202 with a task id instead of the provisional baseline."
    )


class AsyncBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    product_sku: str = Field(min_length=1, max_length=50)
    days: int = Field(default=30, ge=1, le=365)


class RestockQuery(BaseModel):
    days: int = Field(default=14, ge=1, le=365)


@dataclass
class Submitted:
    """202: the job that will answer (poll /api/predict/task/<task_id>)."""

    task_id: str
    status: str
    product_sku: str
    forecast_days: int
    message: str


@dataclass
class RestockList:
    """Every active product's advice, most urgent first."""

    horizon_days: int
    items: list[Recommendation]


async def _enqueue_training(request: Request, product: dict, reason: str) -> str:
    today = time.strftime("%Y-%m-%d")
    enq = await producer.enqueue(
        request.app.ctx.queue,
        "train_product",
        {"product_id": product["product_id"], "sku": product["sku"]},
        store_id=request.ctx.store_id,
        idempotency_key=f"{reason}:{product['product_id']}:{today}",
    )
    return enq.job_id


@bp.post("/")
@openapi.summary("Forecast one product's demand with restock advice")
@openapi.description(
    "Answers from the stored model (no refit, ever, in the API). A product without a model "
    "answers at once from a provisional weekday-mean baseline (`model.provisional: true`, "
    "`model.method: baseline_weekday_mean`) and one training job is queued for it; with "
    "`wait_for_model: true` it answers 202 with a task id to poll at /api/predict/task/<id> instead."
)
@openapi.secured("bearerAuth")
@docs.body(PredictBody)
@docs.response(200, prediction.Prediction)
@docs.response(202, Submitted)
@docs.errors(400, 401, 404)
@authenticated
@validate(json=PredictBody)
async def predict(request: Request, body: PredictBody):
    started = time.perf_counter()
    ctx, store_id = request.app.ctx, request.ctx.store_id
    found = await product_with_inputs(ctx.db, store_id, body.product_sku)  # one query: product, model id, on order
    if found is None:
        raise catalog.not_found(body.product_sku)
    product, inputs = found
    shape = f"{product['product_id']}:{body.days}:{body.history_days}"
    if inputs.model_id is None:
        (task_id,) = await training_requests.request_training(
            ctx.queue, store_id, [(product["product_id"], product["sku"])], debounce=False
        )
        if body.wait_for_model:
            return json(
                Submitted(task_id, "submitted", product["sku"], body.days, NO_MODEL_YET),
                status=202,
            )
        source, ttl = "baseline", BASELINE_CACHE_TTL
        name, families = f"predict-baseline:{shape}", (cache.HISTORY, cache.EVENTS, cache.SETTINGS)

        async def load():
            locale = await caller_locale(request)
            return await prediction.baseline_view(ctx.db, locale, product, body.days, body.history_days)
    else:
        # The model id is in the name: a new model is a new entry. A sale changes the
        # stock, which only `compose` reads, so the view survives it.
        source, ttl = "model", PREDICT_CACHE_TTL
        name, families = f"predict:{shape}:{inputs.model_id}", (cache.HISTORY, cache.EVENTS, cache.SETTINGS)

        async def load():
            locale = await caller_locale(request)
            return await prediction.model_view(ctx.db, locale, product, body.days, body.history_days)

    view = await cache.cached(ctx.redis, store_id, families, name, ttl, load)
    # Stock on order counts, as on every other surface (read with the product: it is not in the cached view).
    result = prediction.compose(product, view, inputs.incoming)
    if result["model"]["stale"]:
        try:  # refresh in the background, at most once a day per product
            await _enqueue_training(request, product, "refresh")
        except Exception as exc:  # noqa: BLE001 - the queue being down must not fail a prediction
            log.warning("could not queue a model refresh: %r", exc)
    metrics.PREDICT_LATENCY.labels(source).observe(time.perf_counter() - started)
    return json(result)


@bp.post("/async")
@openapi.summary("Forecast as a background job")
@openapi.secured("bearerAuth")
@docs.body(AsyncBody)
@docs.response(202, Submitted)
@docs.errors(400, 401, 404)
@authenticated
@validate(json=AsyncBody)
async def predict_async(request: Request, body: AsyncBody):
    product = await catalog.product_by_sku(request.app.ctx.db, request.ctx.store_id, body.product_sku)
    if product is None:
        raise catalog.not_found(body.product_sku)
    enq = await producer.enqueue(
        request.app.ctx.queue,
        "predict",
        {"product_sku": product["sku"], "days": body.days},
        store_id=request.ctx.store_id,
    )
    return json(Submitted(enq.job_id, "submitted", product["sku"], body.days, "Prediction queued."), status=202)


@bp.get("/task/<task_id:str>")
@openapi.summary("Status and result of an async prediction (202 while running)")
@openapi.secured("bearerAuth")
@docs.response(200, records.TaskBody)
@docs.response(202, records.TaskBody)
@docs.errors(401, 404)
@authenticated
async def predict_task(request: Request, task_id: str):
    job = await records.get_job(request.app.ctx.queue, task_id) if len(task_id) <= 200 else None
    if job is None or job.store_id != request.ctx.store_id or job.type not in ("predict", "train_product"):
        raise NotFound(f"Task {task_id} not found", code="task_not_found")
    body = job.to_api()
    return json(body, status=200 if job.finished else 202)


@bp.get("/restock")
@openapi.summary("Restock advice for every product of the store, most urgent first")
@openapi.secured("bearerAuth")
@docs.response(200, RestockList)
@docs.errors(400, 401)
@authenticated
@validate(query=RestockQuery)
async def restock(request: Request, query: RestockQuery):
    ctx, store_id = request.app.ctx, request.ctx.store_id
    items = await cache.cached(
        ctx.redis,
        store_id,
        (cache.CATALOG, cache.HISTORY, cache.MODELS, cache.EVENTS, cache.SETTINGS),
        f"restock:{query.days}",
        PREDICT_CACHE_TTL,
        lambda: restock_list(ctx.db, store_id, query.days),
    )
    return json(RestockList(query.days, items))


class AccuracyQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str | None = Field(default=None, min_length=1, max_length=100, description="One product only")


@bp.get("/accuracy")
@openapi.summary("Live forecast accuracy over the last 28 days, per product and for the store")
@openapi.description(
    "Written by the daily `track_accuracy` job: each day's forecast (of the model in force before it) "
    "against the units sold; closed and stock-out days are not scored. Drift (live MASE well above the "
    "holdout MASE) queues a retrain."
)
@openapi.secured("bearerAuth")
@docs.response(200, forecast_accuracy.AccuracyReport)
@docs.errors(400, 401)
@authenticated
@validate(query=AccuracyQuery)
async def accuracy(request: Request, query: AccuracyQuery):
    return json(await forecast_accuracy.accuracy_report(request.app.ctx.db, request.ctx.store_id, query.sku))


@bp.get("/model/<sku:str>/status")
@openapi.summary("A product's model: version, method, trained_at, data points, holdout and live metrics, drift")
@openapi.secured("bearerAuth")
@docs.response(200, forecast_accuracy.ModelStatus)
@docs.errors(401, 404)
@authenticated
async def model_status(request: Request, sku: str):
    status = await forecast_accuracy.model_status(request.app.ctx.db, request.ctx.store_id, sku)
    if status is None:
        raise catalog.not_found(sku)
    return json(status)


@bp.get("/store")
@openapi.summary("Store-level forecast: total units and revenue over the horizon with intervals")
@openapi.description(
    "From every product's stored model; intervals from the products' predictive spreads (variances "
    "added over days and products), not by summing interval bounds. Products without a model are "
    "counted in `products_without_model` and left out."
)
@openapi.secured("bearerAuth")
@docs.response(200, store_forecast.StoreForecast)
@docs.errors(400, 401)
@authenticated
@validate(query=RestockQuery)
async def store_level(request: Request, query: RestockQuery):
    ctx, store_id = request.app.ctx, request.ctx.store_id
    body = await cache.cached(
        ctx.redis,
        store_id,
        (cache.CATALOG, cache.MODELS, cache.SETTINGS),
        f"store-forecast:{query.days}",
        PREDICT_CACHE_TTL,
        lambda: store_forecast.store_forecast(ctx.db, store_id, query.days),
    )
    return json(body)
