"""The job runtime's own job types and schedule (no domain): a no-op for
benchmarks and probes, and the periodic clean-up of job records."""

from __future__ import annotations

from typing import Any

from siprems.jobs import maintenance
from siprems.jobs.context import JobContext
from siprems.jobs.registry import JobType, Schedule


async def noop(ctx: JobContext, **args: Any) -> dict[str, Any]:
    """Does nothing: for benchmarks and health probes."""
    return {"ok": True}


async def cleanup_job_records(ctx: JobContext, **_: Any) -> dict[str, Any]:
    return await maintenance.cleanup(ctx.redis, ctx.settings)


JOB_TYPES = (
    JobType("noop", noop, max_retries=0, timeout=10),
    JobType("cleanup_job_records", cleanup_job_records, max_retries=2, timeout=300),
)
SCHEDULES = (Schedule("cleanup-job-records", "*/15 * * * *", "cleanup_job_records", catchup_seconds=3600),)
