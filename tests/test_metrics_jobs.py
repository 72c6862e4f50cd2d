"""/metrics on an API instance reports job run times recorded by a real worker
process (through the queue Redis); the DB pool counts waits for a connection."""

from __future__ import annotations

import asyncio
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families
from support_jobs import state_is, wait_job

from siprems.jobs import producer

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
    before = _job_count(api, "record_effect")
    procs.start("w1")
    jobs = [await producer.enqueue(queue, "record_effect", {"sleep_ms": 50}, store_id=0) for _ in range(3)]
    for job in jobs:
        await wait_job(queue, job.job_id, state_is("SUCCESS"))
    deadline = time.monotonic() + 15  # the worker merges its figures every 5 s
    while _job_count(api, "record_effect") < before + 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    text = httpx.get(api + "/metrics").text
    assert _job_count(api, "record_effect") >= before + 3
    buckets = _samples(text, "siprems_job_duration_seconds_bucket")
    # 50 ms jobs: none within 25 ms, all within 1 s.
    assert buckets[(("le", "0.025"), ("type", "record_effect"))] <= before
    assert buckets[(("le", "1.0"), ("type", "record_effect"))] >= before + 3
    finished = _samples(text, "siprems_jobs_finished_total")
    assert finished[(("outcome", "SUCCESS"), ("type", "record_effect"))] >= before + 3


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
