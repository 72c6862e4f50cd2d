"""`/metrics` (Prometheus text, or `?format=json` with a `summary`) and
`/cache-stats`: internal callers only (`siprems.api.internal`)."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import json, raw
from sanic_ext import openapi

from siprems import metrics, observability
from siprems.api.internal import internal_only

bp = Blueprint("metrics")


@bp.get("/metrics")
@openapi.summary("Prometheus metrics of this instance (all workers); ?format=json for a summary (internal)")
@internal_only
async def metrics_endpoint(request: Request):
    text = metrics.render() + await observability.queue_metrics_text(request.app.ctx.queue)
    if request.args.get("format") == "json":
        return json(observability.summarise(text.decode(), request.app.ctx.settings.instance))
    return raw(text, content_type="text/plain; version=0.0.4; charset=utf-8")


@bp.get("/cache-stats")
@openapi.summary("Cache hit ratio, keys by prefix and Redis memory (internal)")
@internal_only
async def cache_stats(request: Request):
    return json(await observability.cache_stats(request.app.ctx.redis, metrics.render().decode()))
