"""The registry of job types and schedules. The runtime (worker, producer,
scheduler, admin) reads it and imports no domain package; each domain
declares its types and schedules beside its code (e.g.
`siprems.forecasting.jobs`) and `siprems.jobtypes.install()` registers them
all, statically, at start-up.

A handler is `async def handler(ctx: JobContext, **args) -> JSON-able result`.
Handlers must be idempotent: delivery is at least once (a worker may die
after the effect committed but before the acknowledgement), so running one
twice must leave the same result, e.g. one model version per training run id
(the job id).

Test and chaos runs add types with `@job_type` in modules named by JOB_PLUGINS
(`load_plugins`); the application's own types never go through that path.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from croniter import croniter

DEFAULT_QUEUE = "default"
TRAINING_QUEUE = "training"
QUEUES = (DEFAULT_QUEUE, TRAINING_QUEUE)

Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class JobType:
    name: str
    handler: Handler
    queue: str = DEFAULT_QUEUE
    max_retries: int = 3  # failures retried with back-off before the job fails for good
    timeout: float = 600.0  # s; a handler running longer is cancelled (a retryable failure)
    backoff_base: float = 5.0  # s; the n-th retry waits base * 2**(n-1), capped, with jitter
    backoff_max: float = 600.0

    def retry_delay(self, failure_number: int) -> float:
        """Exponential back-off with "equal jitter": a random delay between half
        and all of base * 2**(n-1), so delays grow yet retries spread out."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** max(0, failure_number - 1))
        return float(ceiling * random.uniform(0.5, 1.0))


@dataclass(frozen=True)
class Schedule:
    name: str
    cron: str
    job_type: str
    args: dict[str, Any] = field(default_factory=dict)
    per_store: bool = False  # one job per store, the expression read in the store's time zone
    timezone: str = "UTC"  # for schedules that are not per store
    catchup_seconds: int = 0  # a missed occurrence this recent still fires (once) after downtime
    # How long each occurrence's finished record is kept (None: JOB_RESULT_TTL_SECONDS, 7 days):
    # an hourly per-store schedule would otherwise leave 168 records per store in the queue Redis.
    result_ttl_seconds: int | None = None


class UnknownJobType(LookupError):
    pass


REGISTRY: dict[str, JobType] = {}
SCHEDULES: dict[str, Schedule] = {}


def register(types: Iterable[JobType] = (), schedules: Iterable[Schedule] = ()) -> None:
    """Add job types and schedules (registering the same again is harmless)."""
    for t in types:
        REGISTRY[t.name] = t
    for s in schedules:
        register_schedule(s)


def register_schedule(schedule: Schedule) -> None:
    croniter(schedule.cron)  # reject a bad expression at registration
    SCHEDULES[schedule.name] = schedule


def job_type(name: str, **options: Any) -> Callable[[Handler], Handler]:
    """Decorator for test and chaos plugins: register `handler` as job type `name`."""

    def add(handler: Handler) -> Handler:
        REGISTRY[name] = JobType(name=name, handler=handler, **options)
        return handler

    return add


def get_type(name: str) -> JobType:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownJobType(f"unknown job type {name!r}") from None


def load_plugins(modules: list[str]) -> None:
    """Import the JOB_PLUGINS modules (tests, chaos); they register with `job_type`."""
    for module in modules:
        importlib.import_module(module)
