"""Cancellation: a job revoked before it starts never runs (whether it waits
for a due time or already sits in the stream); a running job stops at its
next checkpoint; cancelling a fan-out parent revokes its children."""

from __future__ import annotations

import asyncio
import time

from siprems import keys
from siprems.jobs import producer
from support_jobs import effects_of, runs_of, state_is, wait_job

pytest_plugins = ["support_jobs_fixtures"]  # fixtures: procs, queue, pg, job_test_tables

TTL = 3600


async def test_cancel_before_start_revokes_and_the_job_never_runs(procs, queue, pg):
    # One job already in the stream (no worker yet), one waiting for its due time.
    queued = await producer.enqueue(queue, "record_effect", {})
    deferred = await producer.enqueue(queue, "record_effect", {}, due_at=time.time() + 1.0)
    for job_id in (queued.job_id, deferred.job_id):
        result = await producer.cancel(queue, job_id, result_ttl=TTL)
        assert (result.outcome, result.state) == ("REVOKED", "REVOKED")
    assert await queue.zscore(keys.JOBS_DELAYED, deferred.job_id) is None

    procs.start("w1")
    marker = await producer.enqueue(queue, "noop", {})  # enqueued after the revoked one
    await wait_job(queue, marker.job_id, state_is("SUCCESS"))
    await asyncio.sleep(1.5)  # past the deferred job's due time
    for job_id in (queued.job_id, deferred.job_id):
        job = await wait_job(queue, job_id, state_is("REVOKED"))
        assert job.started_at is None and job.message == "Cancelled before it started"
        assert runs_of(pg, job_id) == [] and effects_of(pg, job_id) == []
    # Cancelling again says it is finished.
    assert (await producer.cancel(queue, queued.job_id, result_ttl=TTL)).outcome == "FINISHED"


async def test_a_running_job_stops_at_its_next_checkpoint(procs, queue, pg):
    procs.start("w1")
    done = await producer.enqueue(queue, "progress_probe", {"steps": 50, "step_ms": 100})
    await wait_job(queue, done.job_id, lambda j: j.progress >= 10)
    result = await producer.cancel(queue, done.job_id, result_ttl=TTL)
    assert (result.outcome, result.state) == ("CANCELLING", "STARTED")
    job = await wait_job(queue, done.job_id, state_is("REVOKED"), timeout=3)
    assert 10 <= job.progress < 100 and job.message == "Cancelled while running"
    assert len(runs_of(pg, done.job_id)) == 1


async def test_cancelling_a_fanout_parent_revokes_its_children(procs, queue, pg):
    procs.start("w1", JOB_CONCURRENCY=2)  # most children wait in the queue
    parent = await producer.enqueue(queue, "fanout_probe", {"children": 6, "sleep_ms": 1500})
    await wait_job(queue, parent.job_id, lambda j: j.children is not None and j.state.value == "STARTED")
    result = await producer.cancel(queue, parent.job_id, result_ttl=TTL)
    assert result.outcome == "REVOKED"
    children = [await wait_job(queue, f"{parent.job_id}.c{i}", state_is("REVOKED"), timeout=5) for i in range(6)]
    assert sum(1 for c in children if c.started_at) <= 2  # those that had started stopped at a checkpoint
    assert all(effects_of(pg, c.id) == [] for c in children)
    assert (await wait_job(queue, parent.job_id, state_is("REVOKED"))).finished
