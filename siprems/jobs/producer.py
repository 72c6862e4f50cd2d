"""Enqueue and cancel jobs (used by the API, the scheduler, handlers and tests).

A job is a record (`records.py`) plus, once due, one entry in its queue's
stream; a job with a due time in the future waits in the delayed set and a
worker moves it into the stream when due (`delayed.py`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from redis import exceptions as redis_errors

from siprems import jsonutil, keys
from siprems.errors import ServiceUnavailable
from siprems.jobs import scripts
from siprems.jobs.records import text
from siprems.jobs.registry import get_type
from siprems.redis_client import Redis

DEFAULT_IDEMPOTENCY_TTL = 86_400


@dataclass
class JobSpec:
    type: str
    args: dict[str, Any] = field(default_factory=dict)
    store_id: int = 0  # 0: a system job that belongs to no store
    job_id: str | None = None  # deterministic ids make enqueueing idempotent
    idempotency_key: str | None = None  # per store; a repeat returns the first job's id
    due_at: datetime | float | None = None  # datetime or unix seconds; None = now
    parent_id: str = ""
    fire_key: str = ""  # scheduler: SET NX marker of one cron occurrence
    fire_ttl: int = 0
    idempotency_ttl: int = DEFAULT_IDEMPOTENCY_TTL
    result_ttl: int | None = None  # seconds the finished record is kept; None: the worker's JOB_RESULT_TTL_SECONDS


@dataclass(frozen=True)
class Enqueued:
    job_id: str
    created: bool  # False: an existing job was returned (same id, idempotency key or occurrence)


@dataclass(frozen=True)
class CancelResult:
    outcome: str  # MISSING | FINISHED | REVOKED | CANCELLING
    state: str


def new_job_id() -> str:
    return uuid.uuid4().hex


def _due_ms(due_at: datetime | float | None) -> int:
    if due_at is None:
        return 0
    seconds = due_at.timestamp() if isinstance(due_at, datetime) else float(due_at)
    return int(seconds * 1000)


def _args(spec: JobSpec) -> list[Any]:

    job_type = get_type(spec.type)
    idem = keys.job_idempotency(spec.store_id, spec.idempotency_key) if spec.idempotency_key else ""
    return [
        *scripts.PREFIX_ARGS,
        spec.job_id or new_job_id(),
        spec.type,
        job_type.queue,
        str(spec.store_id),
        jsonutil.dumps_str(spec.args or {}),
        job_type.max_retries,
        _due_ms(spec.due_at),
        idem,
        spec.idempotency_ttl,
        spec.parent_id,
        spec.fire_key,
        spec.fire_ttl,
        "" if spec.result_ttl is None else spec.result_ttl,
    ]


async def hurry(redis: Redis, job_ids: list[str]) -> None:
    """Make these jobs due now if they wait in the delayed set (a debounced job someone
    now waits for); jobs already delivered or finished are left alone."""
    now_ms = int(time.time() * 1000)
    for job_id in job_ids:
        if await redis.zadd(keys.JOBS_DELAYED, {job_id: now_ms}, xx=True, lt=True, ch=True):
            await redis.hset(keys.job_record(job_id), "due_at", f"{now_ms}000")  # µs, as enqueued


async def enqueue(redis: Redis, job_type: str, args: dict[str, Any] | None = None, **options: Any) -> Enqueued:
    """Enqueue one job; options are the fields of JobSpec."""
    return (await enqueue_many(redis, [JobSpec(job_type, args or {}, **options)]))[0]


async def enqueue_many(redis: Redis, specs: list[JobSpec]) -> list[Enqueued]:
    """Enqueue several jobs in one round trip (each enqueue is atomic)."""
    if not specs:
        return []
    script = redis.register_script(scripts.ENQUEUE)
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for spec in specs:
                await script(args=_args(spec), client=pipe)
            replies = await pipe.execute()
    except redis_errors.OutOfMemoryError as exc:  # maxmemory reached (noeviction): refuse new work
        raise ServiceUnavailable(
            "The job queue is full; please retry later.", code="queue_full", headers={"Retry-After": "30"}
        ) from exc
    return [Enqueued(text(r[0]), int(r[1]) == 1) for r in replies]


async def cancel(redis: Redis, job_id: str, *, result_ttl: int, store_id: int | None = None) -> CancelResult:
    """Revoke a job that has not started (REVOKED at once, it never runs) or
    ask a running one to stop at its next checkpoint (CANCELLING)."""
    script = redis.register_script(scripts.CANCEL)
    reply = await script(args=[*scripts.PREFIX_ARGS, job_id, "" if store_id is None else str(store_id), result_ttl])
    return CancelResult(text(reply[0]), text(reply[1]))


def now_ms() -> int:
    return int(time.time() * 1000)
