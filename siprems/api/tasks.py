"""`/api/tasks`: background jobs of the caller's store (contract section 2.2).

`GET /api/tasks/<id>` answers 202 while the job is PENDING, STARTED or RETRY
and 200 once it is SUCCESS, FAILURE or REVOKED. Another store's task id
behaves exactly like a missing one (404). POSTs that enqueue accept an
optional `Idempotency-Key` header: a repeat returns the first task's id.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from croniter import croniter
from sanic import Blueprint, Request
from sanic.response import json
from sanic_ext import openapi

from siprems.api import docs
from siprems.api.guard import authenticated
from siprems.catalog.products import get_product
from siprems.db import fetch_one
from siprems.errors import BadRequest, Conflict, NotFound
from siprems.jobs import producer, records
from siprems.jobs.records import JobState, TaskBody
from siprems.jobs.registry import SCHEDULES

bp = Blueprint("tasks", url_prefix="/api/tasks")

_TASK_ID = re.compile(r"^[A-Za-z0-9:._-]{1,200}$")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


@dataclass
class Submitted:
    task_id: str
    status: Literal["submitted"]
    task_name: str
    message: str


@dataclass
class ProductSubmitted(Submitted):
    product_sku: str


@dataclass
class ActiveTask:
    task_id: str
    task_name: str
    worker: str | None
    args: dict[str, Any]
    kwargs: dict[str, Any]
    status: JobState
    progress: int
    created_at: str | None


@dataclass
class Active:
    active_tasks: list[ActiveTask]


@dataclass
class ScheduledTask:
    task_id: str
    task_name: str
    worker: None
    eta: str | None
    status: JobState


@dataclass
class Periodic:
    name: str
    task_name: str
    cron: str
    timezone: str
    next_run: str


@dataclass
class Scheduled:
    scheduled_tasks: list[ScheduledTask]
    periodic: list[Periodic]


@dataclass
class Cancelled:
    task_id: str
    status: Literal["cancelled"]
    state: str
    message: str


async def _own_job(request: Request, task_id: str) -> records.Job:
    job = await records.get_job(request.app.ctx.queue, task_id) if _TASK_ID.match(task_id) else None
    if job is None or job.store_id != request.ctx.store_id:
        raise NotFound(f"Task {task_id} not found", code="task_not_found")
    return job


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise BadRequest("Idempotency-Key must be 1-200 visible ASCII characters", code="validation_error")
    return key


async def _submit(request: Request, job_type: str, args: dict, scope: str) -> producer.Enqueued:
    key = _idempotency_key(request)
    return await producer.enqueue(
        request.app.ctx.queue,
        job_type,
        args,
        store_id=request.ctx.store_id,
        idempotency_key=f"{scope}:{key}" if key else None,
        idempotency_ttl=request.app.ctx.settings.idempotency_ttl_seconds,
    )


@bp.get("/active")
@openapi.summary("The store's tasks that are running or waiting to run now")
@openapi.secured("bearerAuth")
@docs.response(200, Active)
@docs.errors(401)
@authenticated
async def active(request: Request):
    now_us = time.time() * 1_000_000
    jobs = await records.store_unfinished(request.app.ctx.queue, request.ctx.store_id)
    return json(
        Active(
            [
                ActiveTask(j.id, j.type, j.worker or None, j.args, {}, j.state, j.progress, records.iso(j.created_at))
                for j in jobs
                if not (j.due_at and j.due_at > now_us and j.state != JobState.STARTED)
            ]
        )
    )


@bp.get("/scheduled")
@openapi.summary("The store's tasks waiting for a due time (retries, deferred jobs) and the periodic schedules")
@openapi.secured("bearerAuth")
@docs.response(200, Scheduled)
@docs.errors(401)
@authenticated
async def scheduled(request: Request):
    now = time.time()
    jobs = await records.store_unfinished(request.app.ctx.queue, request.ctx.store_id)
    waiting = [j for j in jobs if j.state != JobState.STARTED and j.due_at and j.due_at > now * 1_000_000]
    store = await fetch_one(
        request.app.ctx.db, "SELECT timezone FROM stores WHERE store_id = %s", (request.ctx.store_id,)
    )
    store_tz = (store or {}).get("timezone") or "UTC"
    periodic = []
    for s in SCHEDULES.values():
        tz = store_tz if s.per_store else s.timezone
        try:
            next_run = croniter(s.cron, datetime.fromtimestamp(now, ZoneInfo(tz))).get_next(datetime)
        except (KeyError, ValueError):  # an unknown time zone must not break the listing
            next_run = None
        if next_run is None:
            continue
        utc = next_run.astimezone(UTC).isoformat().replace("+00:00", "Z")
        periodic.append(Periodic(s.name, s.job_type, s.cron, tz, utc))
    waiting_tasks = [ScheduledTask(j.id, j.type, None, records.iso(j.due_at), j.state) for j in waiting]
    return json(Scheduled(waiting_tasks, periodic))


@bp.post("/training/product/<sku:str>")
@openapi.summary("Train the forecast model of one product in the background")
@openapi.secured("bearerAuth")
@docs.response(202, ProductSubmitted)
@docs.errors(400, 401, 404, 409)
@authenticated
async def train_product(request: Request, sku: str):
    product = await get_product(request.app.ctx.db, request.ctx.store_id, sku)  # 404 if not ours
    if product.is_archived:
        raise Conflict(f"Product with SKU {sku} is archived", code="product_archived")
    done = await _submit(
        request,
        "train_product",
        {"product_id": product.product_id, "sku": sku},
        scope=f"train_product:{product.product_id}",
    )
    return json(
        ProductSubmitted(done.job_id, "submitted", "train_product", f"Training started for {sku}", sku), status=202
    )


@bp.post("/training/all")
@openapi.summary("Train every product of the store: one parent task, one child task per product")
@openapi.secured("bearerAuth")
@docs.response(202, Submitted)
@docs.errors(400, 401)
@authenticated
async def train_all(request: Request):
    done = await _submit(request, "train_all", {}, scope="train_all")
    return json(Submitted(done.job_id, "submitted", "train_all", "Training started for all products"), status=202)


@bp.get("/<task_id:str>")
@openapi.summary("A task's state: 202 while PENDING, STARTED or RETRY; 200 once finished")
@openapi.secured("bearerAuth")
@docs.response(200, TaskBody)
@docs.response(202, TaskBody)
@docs.errors(401, 404)
@authenticated
async def get_task(request: Request, task_id: str):
    job = await _own_job(request, task_id)
    return json(job.to_api(), status=200 if job.finished else 202)


@bp.post("/<task_id:str>/cancel")
@openapi.summary("Cancel a task: one not started never runs; a running one stops at its next checkpoint")
@openapi.secured("bearerAuth")
@docs.response(200, Cancelled)
@docs.errors(401, 404, 409)
@authenticated
async def cancel(request: Request, task_id: str):
    await _own_job(request, task_id)
    ctx = request.app.ctx
    result = await producer.cancel(
        ctx.queue, task_id, store_id=request.ctx.store_id, result_ttl=ctx.settings.job_result_ttl_seconds
    )
    if result.outcome == "MISSING":
        raise NotFound(f"Task {task_id} not found", code="task_not_found")
    if result.outcome == "FINISHED":
        raise Conflict(f"Task {task_id} already finished ({result.state})", code="task_finished")
    message = (
        "Task cancelled before it started"
        if result.outcome == "REVOKED"
        else "Cancellation requested: the task stops at its next checkpoint"
    )
    return json(Cancelled(task_id, "cancelled", result.state, message))
