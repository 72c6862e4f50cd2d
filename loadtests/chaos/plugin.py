"""Loaded by the chaos run's workers and schedulers (JOB_PLUGINS=chaos.plugin):
a schedule that fires every second and a job that records each run in
PostgreSQL, so the run can prove every occurrence fired, and ran, once."""

from __future__ import annotations

from siprems.db import execute
from siprems.jobs.registry import job_type
from siprems.jobs.schedule import Schedule, register_schedule

SCHEDULE = "chaos-tick"
JOB_TYPE = "chaos_tick"

TABLE_SQL = """
CREATE TABLE IF NOT EXISTS chaos_ticks (
    job_id     TEXT PRIMARY KEY,
    fire_ts    BIGINT NOT NULL,
    runs       INTEGER NOT NULL DEFAULT 1,
    first_run  TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
)
"""


def job_id(fire_ts: int) -> str:
    """The scheduler's deterministic id of one occurrence (store 0: a global schedule)."""
    return f"cron:{SCHEDULE}:0:{fire_ts}"


# Retries span ~20 s, longer than any outage the run injects, so a tick that
# lands in a PostgreSQL restart still runs (a shorter budget would dead-letter it).
@job_type(JOB_TYPE, max_retries=10, timeout=30, backoff_base=0.5, backoff_max=4)
async def chaos_tick(ctx, **_):
    fire_ts = int(ctx.job_id.rsplit(":", 1)[1])
    await execute(
        ctx.pool,
        "INSERT INTO chaos_ticks (job_id, fire_ts) VALUES (%s, %s) "
        "ON CONFLICT (job_id) DO UPDATE SET runs = chaos_ticks.runs + 1",
        (ctx.job_id, fire_ts),
    )
    return {"fire_ts": fire_ts}


register_schedule(Schedule(SCHEDULE, "* * * * * *", JOB_TYPE))
