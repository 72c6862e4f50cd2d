"""Job types and a schedule for tests and benchmarks only. Loaded by workers
and schedulers when JOB_PLUGINS=devtools.testing_handlers.

`record_effect` logs every run in job_test_runs and, when it completes, its
effect in job_test_effects. The effect is deliberately not idempotent (a plain
INSERT, no key): how often a job's effect is applied is what the queue made of
it (a job run twice past its effect, e.g. two workers holding one lease, shows
as two rows), not something the handler hides."""

from __future__ import annotations

import asyncio
import os
import signal

from siprems.db import execute
from siprems.jobs.context import ChildJob
from siprems.jobs.registry import job_type
from siprems.jobs.schedule import Schedule, register_schedule

TEST_TABLES_SQL = """
CREATE TABLE IF NOT EXISTS job_test_runs (
    run_id      BIGSERIAL PRIMARY KEY,
    job_id      TEXT NOT NULL,
    worker      TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS job_test_runs_job_idx ON job_test_runs (job_id);
CREATE TABLE IF NOT EXISTS job_test_effects (
    effect_id   BIGSERIAL PRIMARY KEY,
    job_id      TEXT NOT NULL,
    worker      TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS job_test_effects_job_idx ON job_test_effects (job_id);
"""


async def _log_run(ctx) -> None:
    await execute(
        ctx.pool,
        "INSERT INTO job_test_runs (job_id, worker, attempt) VALUES (%s, %s, %s)",
        (ctx.job_id, ctx.worker, ctx.attempt),
    )


@job_type("record_effect", max_retries=3, timeout=120, backoff_base=0.2, backoff_max=2)
async def record_effect(ctx, sleep_ms: int = 0, **_):
    """Log the run, sleep (checkpoint every 50 ms), then apply the effect (every time it gets here)."""
    await _log_run(ctx)
    remaining = sleep_ms / 1000
    while remaining > 0:
        await asyncio.sleep(min(0.05, remaining))
        remaining -= 0.05
        await ctx.check_cancelled()
    await execute(
        ctx.pool,
        "INSERT INTO job_test_effects (job_id, worker, attempt) VALUES (%s, %s, %s)",
        (ctx.job_id, ctx.worker, ctx.attempt),
    )
    return {"job_id": ctx.job_id, "worker": ctx.worker}


@job_type("always_fail", max_retries=3, timeout=30, backoff_base=0.4, backoff_max=10)
async def always_fail(ctx, **_):
    await _log_run(ctx)
    raise RuntimeError("this job always fails")


@job_type("progress_probe", max_retries=0, timeout=60)
async def progress_probe(ctx, steps: int = 10, step_ms: int = 100, **_):
    """Reports progress at every step (each a cancellation checkpoint)."""
    await _log_run(ctx)
    for step in range(steps):
        await asyncio.sleep(step_ms / 1000)
        await ctx.progress(100 * (step + 1) / steps, f"step {step + 1} of {steps}")
    return {"steps": steps}


@job_type("crash_worker", max_retries=0, timeout=30)
async def crash_worker(ctx, **_):
    """A poison job: kills the worker running it (dead-lettered after N deliveries)."""
    await _log_run(ctx)
    os.kill(os.getpid(), signal.SIGKILL)


@job_type("fanout_probe", max_retries=1, timeout=60)
async def fanout_probe(ctx, children: int = 3, sleep_ms: int = 0, child_type: str = "record_effect", **_):
    """A fan-out parent (what train_all does with products)."""
    await _log_run(ctx)
    return await ctx.fan_out([ChildJob(child_type, {"sleep_ms": sleep_ms}, f"c{i}") for i in range(children)])


register_schedule(Schedule("test-every-second", "* * * * * *", "noop", {"probe": "cron"}))
