"""/metrics on an API instance reports job run times recorded by a real worker
process (through the queue Redis); the DB pool counts waits for a connection."""

from __future__ import annotations

import asyncio
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from siprems.jobs import producer
from support_jobs import state_is, wait_job

pytest_plugins = ["support_jobs_fixtures"]  # fixtures: procs, queue, pg, job_test_tables


def _samples(text: str, name: str) -> dict[tuple, float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name:
                found[tuple(sorted(s.labels.items()))] = s.value
    return found


def _job_count(api: str, job_type: str) -> float:
    counts = _samples(httpx.get(api + "/metrics").text, "siprems_job_duration_seconds_count")
    return counts.get((("type", job_type),), 0.0)


async def test_metrics_report_job_durations_from_workers(stack, procs, queue):
    api = f"http://127.0.0.1:{stack.ports.api[1]}"
    kind = ("type", "record_effect")

    def figures() -> dict[str, float]:
        text = httpx.get(api + "/metrics").text
        buckets = _samples(text, "siprems_job_duration_seconds_bucket")
        return {
            "count": _samples(text, "siprems_job_duration_seconds_count").get((kind,), 0.0),
            "fast": buckets.get((("le", "0.025"), kind), 0.0),
            "within_1s": buckets.get((("le", "1.0"), kind), 0.0),
            "success": _samples(text, "siprems_jobs_finished_total").get((("outcome", "SUCCESS"), kind), 0.0),
        }

    before = figures()
    procs.start("w1")
    jobs = [await producer.enqueue(queue, "record_effect", {"sleep_ms": 50}, store_id=0) for _ in range(3)]
    for job in jobs:
        await wait_job(queue, job.job_id, state_is("SUCCESS"))
    deadline = time.monotonic() + 15  # the worker merges its figures every 5 s
    while figures()["count"] < before["count"] + 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    after = figures()
    # Earlier tests' jobs may still be landing, so compare deltas, which they can only raise.
    grew = {k: after[k] - before[k] for k in after}
    assert grew["count"] >= 3 and grew["success"] >= 3
    # Our three 50 ms jobs are above the 25 ms bucket and within the 1 s one.
    assert grew["within_1s"] - grew["fast"] >= 3


async def test_db_pool_waits_are_counted(stack):
    # A real pool (through pgbouncer) of one connection: while it is in use,
    # a second reader has to wait, and siprems_db_pool_waits_total counts it.
    from siprems import db, metrics

    def waits() -> float:
        return metrics.DB_POOL_WAITS._value.get()

    pool = await db.create_pool(stack.env()["DATABASE_URL"], maxsize=1)
    try:
        before = waits()
        assert await db.fetch_one(pool, "SELECT 1 AS one") == {"one": 1}
        assert waits() == before  # a free connection: no wait

        async def slow() -> None:
            await db.fetch_one(pool, "SELECT pg_sleep(0.3)")

        first = asyncio.create_task(slow())
        await asyncio.sleep(0.1)  # the only connection is busy now
        assert await db.fetch_one(pool, "SELECT 2 AS two") == {"two": 2}
        await first
        assert waits() == before + 1
    finally:
        pool.close()
        await pool.wait_closed()
