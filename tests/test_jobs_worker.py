"""Workers are real processes: crash recovery (SIGKILL), leases on long jobs,
graceful shutdown (SIGTERM), poison jobs, and what a finished job leaves."""

from __future__ import annotations

import asyncio
import signal
import time

from siprems import keys
from siprems.jobs import producer
from support_jobs import VISIBILITY_MS, effects_of, runs_of, state_is, wait_job

pytest_plugins = ["support_jobs_fixtures"]  # fixtures: procs, queue, pg, job_test_tables


async def test_job_runs_and_its_entry_is_gone_after_the_ack(procs, queue, pg):
    procs.start("w1")
    done = await producer.enqueue(queue, "record_effect", {"sleep_ms": 0}, store_id=0)
    job = await wait_job(queue, done.job_id, state_is("SUCCESS"))
    assert job.result == {"job_id": done.job_id, "worker": procs.consumer("w1")}
    assert job.attempts == 1 and job.progress == 100
    assert job.created_at <= job.enqueued_at <= job.started_at <= job.finished_at
    assert len(effects_of(pg, done.job_id)) == 1
    # A finished record expires (job_result_ttl_seconds); its entry was XDELed after the XACK.
    assert 0 < await queue.ttl(keys.job_record(done.job_id)) <= 7 * 86400
    entries = await queue.xrange(keys.job_stream("default"))
    assert done.job_id not in {f["id"] for _, f in entries}
    assert done.job_id not in await queue.zrange(keys.job_store_active(0), 0, -1)


async def test_sigkill_mid_job_completes_on_another_worker_with_one_effect(procs, queue, pg):
    procs.start("victim")
    # Long enough to outlast the survivor's start-up (it imports the job catalogue) on a loaded host.
    done = await producer.enqueue(queue, "record_effect", {"sleep_ms": 8000})
    await wait_job(queue, done.job_id, state_is("STARTED"))
    procs.start("survivor")
    procs.kill("victim")

    job = await wait_job(queue, done.job_id, state_is("SUCCESS"), timeout=40)
    survivor = procs.consumer("survivor")
    assert job.worker == survivor and job.attempts == 2
    assert [r["attempt"] for r in runs_of(pg, done.job_id)] == [1, 2]  # it ran twice ...
    effects = effects_of(pg, done.job_id)
    assert len(effects) == 1 and effects[0]["worker"] == survivor  # ... its effect happened once


async def test_a_job_longer_than_the_visibility_timeout_is_not_stolen(procs, queue, pg):
    procs.start("w1")
    procs.start("w2")
    done = await producer.enqueue(queue, "record_effect", {"sleep_ms": 3 * VISIBILITY_MS})
    await wait_job(queue, done.job_id, state_is("SUCCESS"), timeout=15)
    assert len(runs_of(pg, done.job_id)) == 1  # the lease was renewed, no other janitor took it


async def test_sigterm_lets_the_running_job_finish_then_exits(procs, queue, pg):
    proc = procs.start("w1")
    done = await producer.enqueue(queue, "record_effect", {"sleep_ms": 1500})
    await wait_job(queue, done.job_id, state_is("STARTED"))
    procs.signal("w1", signal.SIGTERM)
    job = await wait_job(queue, done.job_id, state_is("SUCCESS"), timeout=10)
    assert await asyncio.to_thread(proc.wait, 10) == 0
    assert job.attempts == 1 and len(runs_of(pg, done.job_id)) == 1 and len(effects_of(pg, done.job_id)) == 1


async def test_sigterm_past_the_grace_period_hands_the_job_back(procs, queue, pg):
    proc = procs.start("impatient", JOB_SHUTDOWN_GRACE_SECONDS=0.3)
    done = await producer.enqueue(queue, "record_effect", {"sleep_ms": 2500})
    await wait_job(queue, done.job_id, state_is("STARTED"))
    procs.signal("impatient", signal.SIGTERM)
    assert await asyncio.to_thread(proc.wait, 10) == 0
    job = await wait_job(queue, done.job_id, state_is("PENDING"), timeout=1)  # back in the queue at once
    assert job.message == "Handed back at worker shutdown"
    assert effects_of(pg, done.job_id) == []
    procs.start("w2")
    job = await wait_job(queue, done.job_id, state_is("SUCCESS"), timeout=15)
    assert job.worker == procs.consumer("w2") and len(effects_of(pg, done.job_id)) == 1


async def test_a_job_that_keeps_killing_workers_is_dead_lettered(procs, queue, pg):
    done = await producer.enqueue(queue, "crash_worker", {})
    deadline = time.monotonic() + 30
    n = 0
    while time.monotonic() < deadline:
        job = await wait_job(queue, done.job_id, lambda j: True)
        if job.state.value == "FAILURE":
            break
        if not procs.alive(f"w{n}"):  # each delivery kills the worker: start the next one
            n += 1
            procs.start(f"w{n}", wait=False, JOB_MAX_DELIVERIES=2)
        await asyncio.sleep(0.1)
    assert job.state.value == "FAILURE", job
    assert "Delivered 3 times" in job.error
    assert len(runs_of(pg, done.job_id)) == 2  # the third delivery was never started
    dead = await queue.xrange(keys.job_dead_letters("default"))
    letter = [f for _, f in dead if f["job_id"] == done.job_id]
    assert letter and letter[0]["reason"] == "max_deliveries" and letter[0]["type"] == "crash_worker"
