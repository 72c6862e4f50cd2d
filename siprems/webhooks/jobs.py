"""Webhooks' job types and schedule (registered by `siprems.jobtypes`):
deliver one webhook (retried with back-off) and each store's morning digest."""

from __future__ import annotations

from typing import Any

from siprems.config import ConfigError, load_settings
from siprems.jobs.context import JobContext
from siprems.jobs.registry import JobType, Schedule
from siprems.webhooks import delivery, digest, events

WEBHOOK_MAX_RETRIES = 8


def _webhook_backoff_base() -> float:
    try:
        return load_settings().webhook_retry_base_seconds
    except ConfigError:  # the process refuses to start anyway
        return 10.0


async def deliver_webhook(ctx: JobContext, delivery_id: str, **_: Any) -> Any:
    return await delivery.deliver(ctx, delivery_id, final_attempt=ctx.attempt > WEBHOOK_MAX_RETRIES)


async def redrive_webhooks(ctx: JobContext, **_: Any) -> Any:
    return {"requeued": await events.redrive_pending(ctx.pool, ctx.redis)}


async def stock_digest(ctx: JobContext, **_: Any) -> Any:
    """The store's morning digest as a `stock.digest` webhook event."""
    return await digest.send(ctx)


def job_types() -> tuple[JobType, ...]:
    """Built when registered: the retry base comes from the settings of the running process."""
    return (
        JobType(
            "deliver_webhook",
            deliver_webhook,
            max_retries=WEBHOOK_MAX_RETRIES,
            timeout=60,
            backoff_base=_webhook_backoff_base(),
            backoff_max=3600,
        ),
        JobType("stock_digest", stock_digest, max_retries=2, timeout=300),
        JobType("redrive_webhooks", redrive_webhooks, max_retries=1, timeout=120),
    )


SCHEDULES = (
    Schedule("stock-digest", "0 7 * * *", "stock_digest", per_store=True, catchup_seconds=3 * 3600),
    Schedule("redrive-webhooks", "*/5 * * * *", "redrive_webhooks", catchup_seconds=3600),
)
