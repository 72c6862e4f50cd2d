"""The scheduled clean-up job: drops index entries of expired records and
re-queues a job whose stream entry was lost (e.g. the last second of writes
before a Redis crash with AOF everysec)."""

from __future__ import annotations

import time

from siprems import keys
from siprems.jobs import producer
from support_jobs import state_is, wait_job

pytest_plugins = ["support_jobs_fixtures"]  # fixtures: procs, queue, pg, job_test_tables


async def test_cleanup_repairs_lost_entries_and_prunes_the_index(procs, queue):
    lost = await producer.enqueue(queue, "noop", {"lost": True})
    record = keys.job_record(lost.job_id)
    await queue.xdel(keys.job_stream("default"), await queue.hget(record, "entry"))
    await queue.hset(record, "enqueued_at", int((time.time() - 3600) * 1_000_000))
    await queue.zadd(keys.job_store_active(0), {"expired-job": 1})

    procs.start("w1")
    cleanup = await producer.enqueue(queue, "cleanup_job_records", {})
    job = await wait_job(queue, cleanup.job_id, state_is("SUCCESS"))
    assert job.result["jobs_repaired"] >= 1 and job.result["index_entries_dropped"] >= 1
    assert await queue.zscore(keys.job_store_active(0), "expired-job") is None
    repaired = await wait_job(queue, lost.job_id, state_is("SUCCESS"), timeout=5)
    assert repaired.result == {"ok": True}
