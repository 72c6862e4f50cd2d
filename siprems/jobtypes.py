"""Every job type and schedule of the application, in one list: the job
runtime (`siprems.jobs`) knows no domain, so the processes that run or enqueue
jobs (API, workers, scheduler, `siprems jobs`) call `install()` at start-up."""

from __future__ import annotations

from siprems.forecasting import jobs as forecasting_jobs
from siprems.jobs import builtin
from siprems.jobs.registry import register
from siprems.webhooks import jobs as webhook_jobs


def install() -> None:
    """Register the built-in and the domains' job types and schedules (idempotent)."""
    register(builtin.JOB_TYPES, builtin.SCHEDULES)
    register(forecasting_jobs.JOB_TYPES, forecasting_jobs.SCHEDULES)
    register(webhook_jobs.job_types(), webhook_jobs.SCHEDULES)
