"""Run one handler and turn what happened into the outcome the finish script
records: SUCCESS, WAIT (fan-out parent), RETRY (with its back-off delay),
FAILURE, REVOKED, RELEASE (handed back at shutdown), or None when another
worker has taken the job over (nothing to record, no acknowledgement)."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable

import psycopg2
from redis.exceptions import RedisError

from siprems import jsonutil
from siprems.jobs.context import JobContext, WaitForChildren
from siprems.jobs.errors import JobCancelled, LeaseLost, PermanentError
from siprems.jobs.registry import JobType

log = logging.getLogger("siprems.jobs.worker")

Outcome = tuple[str, str, str]  # (outcome, a, b) as FINISH_BATCH reads them


def describe(exc: BaseException) -> str:
    """The full detail, for the log and the operator-only traceback field."""
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def public_error(exc: BaseException) -> str:
    """The job's `error` as clients read it. A PermanentError's message is written
    for them; anything else says only what kind of failure it was, never its text
    (a database error names tables, constraints and values). The log has the detail."""
    if isinstance(exc, PermanentError):
        return str(exc) or "The job cannot succeed."
    if isinstance(exc, TimeoutError):
        return "The job took longer than its time limit."
    if isinstance(exc, psycopg2.Error):
        return "A database error interrupted the job."
    if isinstance(exc, RedisError):
        return "A Redis error interrupted the job."
    return "The job failed unexpectedly."


async def run_handler(
    jt: JobType, ctx: JobContext, *, failures: int, max_retries: int, handing_back: Callable[[], bool]
) -> Outcome | None:
    try:
        async with asyncio.timeout(jt.timeout):
            result = await jt.handler(ctx, **ctx.args)
        if isinstance(result, WaitForChildren):
            return ("WAIT", f"Waiting for {result.total} child jobs", "")
        return ("SUCCESS", jsonutil.dumps_str(result), "")
    except LeaseLost:
        log.warning("lease lost: another worker runs this job now", extra={"job_id": ctx.job_id})
        return None
    except JobCancelled:
        return ("REVOKED", "Cancelled while running", "")
    except asyncio.CancelledError:
        if not handing_back():
            raise
        return ("RELEASE", "Handed back at worker shutdown", "")
    except PermanentError as exc:
        log.info("job failed for good", extra={"job_id": ctx.job_id, "error": describe(exc)})
        return ("FAILURE", public_error(exc), traceback.format_exc()[-4000:])
    except Exception as exc:  # noqa: BLE001 - any handler failure is recorded, never crashes the worker
        failure_number = failures + 1
        if failure_number <= max_retries:
            delay_ms = int(jt.retry_delay(failure_number) * 1000)
            log.info("job failed, retrying in %d ms", delay_ms, extra={"job_id": ctx.job_id, "error": describe(exc)})
            return ("RETRY", public_error(exc), str(delay_ms))
        log.warning("job failed", extra={"job_id": ctx.job_id, "error": describe(exc)}, exc_info=True)
        return ("FAILURE", public_error(exc), traceback.format_exc()[-4000:])
