"""The registry of job types: name -> async handler, queue, retries, timeout.

A handler is `async def handler(ctx: JobContext, **args) -> JSON-able result`.
Handlers must be idempotent: delivery is at least once (a worker may die
after the effect committed but before the acknowledgement), so running one
twice must leave the same result, e.g. one model version per training run id
(the job id).

Extra modules named in JOB_PLUGINS are imported by workers and schedulers to
register more types (tests use `siprems.jobs.testing_handlers`).
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

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
        return ceiling * random.uniform(0.5, 1.0)


class UnknownJobType(LookupError):
    pass


REGISTRY: dict[str, JobType] = {}


def job_type(name: str, **options: Any) -> Callable[[Handler], Handler]:
    """Decorator: register `handler` as job type `name` (options: JobType fields)."""

    def register(handler: Handler) -> Handler:
        REGISTRY[name] = JobType(name=name, handler=handler, **options)
        return handler

    return register


def get_type(name: str) -> JobType:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownJobType(f"unknown job type {name!r}") from None


def load_plugins(modules: list[str]) -> None:
    for module in modules:
        importlib.import_module(module)


# --- built-in job types ------------------------------------------------------


@job_type("noop", max_retries=0, timeout=10)
async def noop(ctx, **args):
    """Does nothing: for benchmarks and health probes."""
    return {"ok": True}


@job_type("train_product", queue=TRAINING_QUEUE, max_retries=3, timeout=1800, backoff_base=10)
async def train_product(ctx, product_id: int, sku: str | None = None, **_):
    from siprems.jobs import training
    from siprems.webhooks import events

    result = await training.train_product(ctx, int(product_id))
    data = {"product_id": int(product_id), "sku": sku, "job_id": ctx.job_id}
    if isinstance(result, dict):
        data.update({k: result[k] for k in ("version", "method", "model_id") if k in result})
    await events.emit_quietly(ctx.pool, ctx.redis, ctx.store_id, "forecast.ready", data, key=f"forecast:{ctx.job_id}")
    return result


@job_type("train_all", max_retries=3, timeout=300)
async def train_all(ctx, only_stale: bool = False, **_):
    """Fan-out parent: one train_product child per (stale) product of the store;
    it finishes when all children have finished."""
    from siprems.jobs import training

    return await training.train_all(ctx, only_stale=bool(only_stale))


@job_type("predict", max_retries=2, timeout=300)
async def predict(ctx, product_sku: str, days: int = 30, **_):
    from siprems.jobs import training

    return await training.predict(ctx, product_sku, int(days))


@job_type("cleanup_job_records", max_retries=2, timeout=300)
async def cleanup_job_records(ctx, **_):
    from siprems.jobs import maintenance

    return await maintenance.cleanup(ctx.redis, ctx.settings)


def _webhook_backoff_base() -> float:
    from siprems.config import ConfigError, load_settings

    try:
        return load_settings().webhook_retry_base_seconds
    except ConfigError:  # the process refuses to start anyway
        return 10.0


WEBHOOK_MAX_RETRIES = 8


@job_type(
    "deliver_webhook",
    max_retries=WEBHOOK_MAX_RETRIES,
    timeout=60,
    backoff_base=_webhook_backoff_base(),
    backoff_max=3600,
)
async def deliver_webhook(ctx, delivery_id: str, **_):
    from siprems.webhooks import delivery

    return await delivery.deliver(ctx, delivery_id, final_attempt=ctx.attempt > WEBHOOK_MAX_RETRIES)


@job_type("stock_digest", max_retries=2, timeout=300)
async def stock_digest(ctx, **_):
    """The store's morning digest as a `stock.digest` webhook event."""
    from siprems.webhooks import digest

    return await digest.send(ctx)
