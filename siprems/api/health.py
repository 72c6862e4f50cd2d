"""Liveness (`/health`: no dependency calls) and readiness (`/ready`: public
callers get only the status; internal ones the check of each dependency)."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import json
from sanic_ext import openapi

from siprems import readiness
from siprems.api.internal import is_internal

bp = Blueprint("health")


@bp.get("/health")
@openapi.summary("Liveness: the process is up (no dependency calls)")
async def health(request: Request):
    return json({"status": "healthy", "instance": request.app.ctx.settings.instance})


@bp.get("/ready")
@openapi.summary("Readiness: PostgreSQL (through pgbouncer), Redis and the job queue")
async def ready(request: Request):
    ctx = request.app.ctx
    checks = await readiness.check_all(ctx.db, ctx.redis, ctx.queue)
    down = [name for name, status in checks.items() if isinstance(status, str) and status != "ok"]
    if not is_internal(request):  # what is down, and why, is for operators
        if down:
            return json(
                {"status": "not_ready", "error": "service_unavailable", "message": "The service is not ready."},
                status=503,
            )
        return json({"status": "ready"})
    if down:
        return json(
            {
                "status": "not_ready",
                "error": "dependency_unavailable",
                "message": f"Unavailable: {', '.join(down)}.",
                "down": down,
                "checks": checks,
            },
            status=503,
        )
    return json({"status": "ready", "checks": checks})
