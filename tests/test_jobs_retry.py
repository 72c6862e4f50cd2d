"""Retries with growing, jittered delays through the delayed set; then the dead
letter with state FAILURE and its error; re-driving a dead letter; the
back-off formula itself."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys

from devtools.stack import REPO
from siprems import keys
from siprems.jobs import producer
from siprems.jobs.registry import get_type
from support_jobs import runs_of, state_is, wait_job

pytest_plugins = ["support_jobs_fixtures"]  # fixtures: procs, queue, pg, job_test_tables


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    jt = get_type("always_fail")  # base 0.4 s, cap 10 s
    for n in range(1, 8):
        ceiling = min(10.0, 0.4 * 2 ** (n - 1))
        delays = [jt.retry_delay(n) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len({round(d, 6) for d in delays}) > 100  # jittered, not one fixed value
    # Equal jitter never lets a later retry come sooner than an earlier one could.
    assert max(jt.retry_delay(1) for _ in range(200)) <= min(jt.retry_delay(2) for _ in range(200))


async def test_always_failing_job_is_retried_with_growing_delays_then_dead_lettered(procs, queue, pg, stack):
    procs.start("w1")
    done = await producer.enqueue(queue, "always_fail", {"n": 1})
    job = await wait_job(queue, done.job_id, state_is("RETRY"))
    # Clients read the kind of failure, never the exception's text; the traceback keeps it.
    assert job.error == "The job failed unexpectedly." and job.due_at and job.last_delay_ms

    job = await wait_job(queue, done.job_id, state_is("FAILURE"), timeout=15)
    runs = runs_of(pg, done.job_id)
    assert len(runs) == 1 + 3  # first run + max_retries
    gaps = [(b["started_at"] - a["started_at"]).total_seconds() for a, b in itertools.pairwise(runs)]
    # Delay n is base*2^(n-1)*U(0.5, 1): 0.2-0.4 s, 0.4-0.8 s, 0.8-1.6 s. A retry never
    # comes sooner than its delay; how much later depends on the machine's load, so
    # the upper side is only a sanity bound. The scheduled delays themselves are
    # checked exactly by the back-off test above and by `last_delay_ms` below.
    for gap, low in zip(gaps, [0.2, 0.4, 0.8], strict=False):
        assert low <= gap < 30, gaps
    assert 800 <= job.last_delay_ms <= 1600, job.last_delay_ms
    assert job.error == "The job failed unexpectedly."
    assert "RuntimeError: this job always fails" in job.traceback and job.failures == 3

    dead = [(i, f) for i, f in await queue.xrange(keys.job_dead_letters("default")) if f["job_id"] == done.job_id]
    assert len(dead) == 1
    dead_id, letter = dead[0]
    assert letter["reason"] == "failed" and letter["error"] == job.error and letter["type"] == "always_fail"

    # `siprems jobs redrive` puts it back in its queue: it runs (and fails) again.
    cmd = [sys.executable, "-m", "siprems", "jobs", "redrive", dead_id]
    out = await asyncio.to_thread(
        subprocess.run, cmd, env=stack.env(), cwd=str(REPO), capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0 and '"REDRIVEN"' in out.stdout, out.stdout + out.stderr
    assert dead_id not in {i for i, _ in await queue.xrange(keys.job_dead_letters("default"))}
    await wait_job(queue, done.job_id, lambda j: len(runs_of(pg, done.job_id)) > 4, timeout=10)
    await wait_job(queue, done.job_id, state_is("FAILURE"), timeout=15)
    assert len(runs_of(pg, done.job_id)) == 8


async def test_a_fanout_parent_finishes_when_its_children_do(procs, queue, pg, stack):
    procs.start("w1")
    parent = await producer.enqueue(queue, "fanout_probe", {"children": 4, "sleep_ms": 50}, store_id=0)
    job = await wait_job(queue, parent.job_id, state_is("SUCCESS"), timeout=15)
    assert job.result == {"total": 4, "succeeded": 4, "failed": 0, "revoked": 0}
    assert job.children == {"total": 4, "succeeded": 4, "failed": 0, "revoked": 0} and job.progress == 100
    assert len(runs_of(pg, parent.job_id)) == 1
    for i in range(4):
        child = await wait_job(queue, f"{parent.job_id}.c{i}", state_is("SUCCESS"))
        assert child.parent_id == parent.job_id

    failing = await producer.enqueue(queue, "fanout_probe", {"children": 2, "child_type": "always_fail"})
    job = await wait_job(queue, failing.job_id, state_is("FAILURE"), timeout=15)
    assert job.error == "2 of 2 child jobs failed" and job.result["failed"] == 2

    # `siprems jobs status` reports the workers and the queues.
    out = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "siprems", "jobs", "status"],
        env=stack.env(),
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    status = json.loads(out.stdout)
    assert status["workers_alive"] >= 1 and set(status["queues"]) == {"default", "training"}
    assert status["dead_letters"] >= 2 and any(w["pid"] == procs.procs["w1"].pid for w in status["workers"])
