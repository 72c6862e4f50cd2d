"""Job records: one Redis hash per job (`keys.job_record(id)`).

States: PENDING (queued or waiting for its due time) -> STARTED -> SUCCESS |
FAILURE | REVOKED, with STARTED -> RETRY -> STARTED for failures that may
succeed later. Only the Lua scripts in `scripts.py` change a record's state;
this module reads records and renders them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any, NotRequired

import orjson
from typing_extensions import TypedDict  # pydantic documents only this TypedDict on Python 3.11

from siprems import keys
from siprems.redis_client import Redis


class JobState(str, Enum):  # noqa: UP042 - str() and f-strings of a state keep their current text
    PENDING = "PENDING"
    STARTED = "STARTED"
    RETRY = "RETRY"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    REVOKED = "REVOKED"


UNFINISHED = frozenset({JobState.PENDING, JobState.STARTED, JobState.RETRY})
FINISHED = frozenset({JobState.SUCCESS, JobState.FAILURE, JobState.REVOKED})


def text(value: Any) -> str:
    """Redis replies are bytes or str depending on the client: always str."""
    if isinstance(value, bytes):
        return value.decode()
    return "" if value is None else str(value)


def iso(us: int | None) -> str | None:
    """Microseconds since the epoch -> ISO 8601 UTC (None stays None)."""
    if not us:
        return None
    return datetime.fromtimestamp(us / 1_000_000, tz=UTC).isoformat().replace("+00:00", "Z")


def _int(value: str) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _json(value: str) -> Any:
    if not value:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value


@dataclass
class Job:
    id: str
    type: str
    queue: str
    store_id: int
    state: JobState
    args: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    failures: int = 0
    max_retries: int = 0
    created_at: int | None = None
    enqueued_at: int | None = None
    due_at: int | None = None
    started_at: int | None = None
    finished_at: int | None = None
    progress: int = 0
    message: str = ""
    result: Any = None
    error: str = ""
    traceback: str = ""
    worker: str = ""
    parent_id: str = ""
    cancel_requested: bool = False
    children: Children | None = None
    last_delay_ms: int | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @classmethod
    def from_hash(cls, raw: dict[Any, Any]) -> Job:
        h = {text(k): text(v) for k, v in raw.items()}
        children: Children | None = None
        if h.get("sealed") or h.get("children_total"):
            children = {
                "total": _int(h.get("children_total", "")) or 0,
                "succeeded": _int(h.get("children_ok", "")) or 0,
                "failed": _int(h.get("children_failed", "")) or 0,
                "revoked": _int(h.get("children_revoked", "")) or 0,
            }
        return cls(
            id=h.get("id", ""),
            type=h.get("type", ""),
            queue=h.get("queue", ""),
            store_id=_int(h.get("store_id", "")) or 0,
            state=JobState(h.get("state", "PENDING")),
            args=_json(h.get("args", "")) or {},
            attempts=_int(h.get("attempts", "")) or 0,
            failures=_int(h.get("failures", "")) or 0,
            max_retries=_int(h.get("max_retries", "")) or 0,
            created_at=_int(h.get("created_at", "")),
            enqueued_at=_int(h.get("enqueued_at", "")),
            due_at=_int(h.get("due_at", "")),
            started_at=_int(h.get("started_at", "")),
            finished_at=_int(h.get("finished_at", "")),
            progress=_int(h.get("progress", "")) or 0,
            message=h.get("message", ""),
            result=_json(h.get("result", "")),
            error=h.get("error", ""),
            traceback=h.get("traceback", ""),
            worker=h.get("worker", ""),
            parent_id=h.get("parent_id", ""),
            cancel_requested=h.get("cancel") == "1",
            children=children,
            last_delay_ms=_int(h.get("last_delay_ms", "")),
        )

    def to_api(self) -> TaskBody:
        """The task shape of the API contract (section 2.2) plus our extra fields."""
        body: TaskBody = {
            "task_id": self.id,
            "task_name": self.type,
            "status": self.state,
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "eta": iso(self.due_at) if self.state in UNFINISHED and self.due_at else None,
            "message": self.message or _default_message(self.state),
            "progress": self.progress,
            "attempts": self.attempts,
            "args": self.args,
        }
        if self.children is not None:
            body["children"] = self.children
        if self.parent_id:
            body["parent_id"] = self.parent_id
        if self.state == JobState.SUCCESS or (self.result is not None and self.finished):
            body["result"] = self.result
        if self.error:
            body["error"] = self.error
        return body


class Children(TypedDict):
    total: int
    succeeded: int
    failed: int
    revoked: int


class TaskBody(TypedDict):
    """A background task; the optional keys are left out, not null."""

    task_id: str
    task_name: str
    status: JobState
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    eta: str | None
    message: str
    progress: int
    attempts: int
    args: dict[str, Any]
    children: NotRequired[Children]
    parent_id: NotRequired[str]
    result: NotRequired[Any]
    error: NotRequired[str]


def _default_message(state: JobState) -> str:
    return {
        JobState.PENDING: "Task is waiting to run",
        JobState.STARTED: "Task is running",
        JobState.RETRY: "Task failed and will be retried",
        JobState.SUCCESS: "Task completed",
        JobState.FAILURE: "Task failed",
        JobState.REVOKED: "Task was cancelled",
    }[state]


async def get_job(redis: Redis, job_id: str) -> Job | None:
    raw = await redis.hgetall(keys.job_record(job_id))
    return Job.from_hash(raw) if raw else None


async def get_jobs(redis: Redis, job_ids: list[str]) -> list[Job]:
    """The records of these ids that still exist, in the same order."""
    if not job_ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hgetall(keys.job_record(job_id))
        rows = await pipe.execute()
    return [Job.from_hash(raw) for raw in rows if raw]


async def store_unfinished(redis: Redis, store_id: int, limit: int = 200) -> list[Job]:
    """A store's unfinished jobs, oldest first."""
    ids = [text(i) for i in await redis.zrange(keys.job_store_active(store_id), 0, limit - 1)]
    return [job for job in await get_jobs(redis, ids) if job.state in UNFINISHED]
