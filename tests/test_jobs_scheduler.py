"""Schedules: each occurrence is enqueued exactly once with several scheduler
processes (killed and restarted on the way); the catch-up policy; store time
zones."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import psycopg2

from siprems import keys
from siprems.db import create_pool
from siprems.jobs import records
from siprems.jobs.schedule import (
    MISFIRE_GRACE_SECONDS,
    Schedule,
    Scheduler,
    occurrences,
    to_fire,
)

pytest_plugins = ["support_jobs_fixtures"]  # fixtures: procs, queue, pg, job_test_tables


def ts(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def test_catch_up_policy():
    now = ts("2027-01-15T13:00:05")
    hourly = [
        ts("2027-01-15T10:00:00"),
        ts("2027-01-15T11:00:00"),
        ts("2027-01-15T12:00:00"),
        ts("2027-01-15T13:00:00"),
    ]
    # Recent occurrences (within the grace) always fire; of the older missed
    # ones only the latest, and only if within the schedule's catch-up window.
    assert to_fire(hourly, now, catchup_seconds=7200) == [ts("2027-01-15T12:00:00"), ts("2027-01-15T13:00:00")]
    assert to_fire(hourly, now, catchup_seconds=0) == [ts("2027-01-15T13:00:00")]
    assert to_fire(hourly[:3], now, catchup_seconds=600) == []
    seconds = list(range(now - MISFIRE_GRACE_SECONDS, now + 1))
    assert to_fire(seconds, now, catchup_seconds=0) == seconds  # a short outage loses nothing


def test_occurrences_follow_the_time_zone():
    after, until = ts("2027-01-15T00:00:00"), ts("2027-01-16T00:00:00")
    assert occurrences("0 2 * * *", "Europe/Berlin", after, until) == [ts("2027-01-15T01:00:00")]
    assert occurrences("0 2 * * *", "Asia/Jakarta", after, until) == [ts("2027-01-15T19:00:00")]
    assert len(occurrences("* * * * * *", "UTC", after, after + 5)) == 5  # 6th field: seconds


async def test_tick_fires_once_catches_up_and_respects_store_time_zones(stack, queue):
    name = f"t-{uuid.uuid4().hex[:8]}"
    conn = psycopg2.connect(stack.direct_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO stores (name, timezone) VALUES ('Kiel', 'Europe/Berlin'), "
            "('Jakarta', 'Asia/Jakarta') RETURNING store_id"
        )
        berlin, jakarta = (r[0] for r in cur.fetchall())
    conn.close()
    pool = await create_pool(stack.database_url, maxsize=2)
    schedules = {
        "hourly": Schedule(f"{name}-hourly", "0 * * * *", "noop", catchup_seconds=7200),
        "nightly": Schedule(f"{name}-nightly", "0 2 * * *", "noop", per_store=True, catchup_seconds=0),
    }
    try:
        one = Scheduler(queue, pool, result_ttl=60, schedules=schedules)
        two = Scheduler(queue, pool, result_ttl=60, schedules=schedules)
        assert await one.tick(now=ts("2027-01-15T00:30:00")) == 0  # first start: nothing from the past
        later = ts("2027-01-15T03:00:05")
        assert await one.tick(now=later) >= 2
        assert await two.tick(now=later) == 0 and await one.tick(now=later) == 0  # once, whoever ticks

        hourly = {
            j.id
            for j in await records.get_jobs(
                queue, [f"cron:{name}-hourly:0:{ts(f'2027-01-15T0{h}:00:00')}" for h in (1, 2, 3)]
            )
        }
        # 01:00 and 02:00 were missed (only the latest is caught up), 03:00 is on time.
        assert hourly == {
            f"cron:{name}-hourly:0:{ts('2027-01-15T02:00:00')}",
            f"cron:{name}-hourly:0:{ts('2027-01-15T03:00:00')}",
        }
        # 02:00 in Kiel is 01:00 UTC: 2 h ago and catchup 0 -> skipped; the next night fires on time.
        kiel_night = ts("2027-01-16T01:00:00")
        assert await one.tick(now=kiel_night + 1) >= 1
        kiel = await records.get_job(queue, f"cron:{name}-nightly:{berlin}:{kiel_night}")
        assert kiel is not None and kiel.store_id == berlin and kiel.type == "noop"
        assert await records.get_job(queue, f"cron:{name}-nightly:{jakarta}:{kiel_night}") is None
    finally:
        pool.close()
        await pool.wait_closed()


async def test_two_scheduler_processes_enqueue_each_occurrence_once(procs, queue):
    only = ("--only", "test-every-second")
    prefix = "cron:test-every-second:0:"

    async def fired_now() -> list[int]:
        return sorted([int(k.rsplit(":", 1)[1]) async for k in queue.scan_iter(match=keys.job_record(prefix) + "*")])

    async def until(predicate, timeout: float = 60.0) -> None:
        """Waits on what the schedulers did, not on the clock (a loaded machine is slow)."""
        deadline = time.monotonic() + timeout
        while not predicate(await fired_now()):
            assert time.monotonic() < deadline, f"schedulers did not get there: {await fired_now()}"
            await asyncio.sleep(0.2)

    procs.start("s1", kind="scheduler", args=only)
    procs.start("s2", kind="scheduler", args=only)
    await until(lambda f: len(f) >= 2)
    procs.kill("s1")  # a crash ...
    procs.start("s1", kind="scheduler", args=only)  # ... and a restart
    restarted = time.time()
    await until(lambda f: f and f[-1] > restarted)
    procs.kill("s1")
    procs.kill("s2")  # all down for a moment (the fault itself): the missed seconds are caught up
    await asyncio.sleep(1.5)
    procs.start("s1", kind="scheduler", args=only)
    procs.start("s2", kind="scheduler", args=only)
    back = time.time()
    await until(lambda f: len(f) >= 7 and f[-1] > back + 1)
    procs.kill("s1")
    procs.kill("s2")
    end = time.time()

    fired = await fired_now()
    assert len(fired) >= 7, fired
    assert fired == list(range(fired[0], fired[-1] + 1)), "an occurrence was skipped"
    assert fired[-1] <= end
    # Exactly one stream entry per occurrence (nothing consumed them: no worker runs here).
    entries = [f["id"] for _, f in await queue.xrange(keys.job_stream("default")) if f["id"].startswith(prefix)]
    assert sorted(entries) == sorted(f"{prefix}{t}" for t in fired)
    for job_id in entries:  # tidy up: these noops need no worker
        await queue.delete(keys.job_record(job_id))
    await queue.xdel(
        keys.job_stream("default"),
        *[i for i, f in await queue.xrange(keys.job_stream("default")) if f["id"].startswith(prefix)],
    )


async def test_an_occurrence_keeps_its_record_as_long_as_its_schedule_says(stack, procs, queue):
    """An hourly per-store schedule must not leave a week of records per store in the
    never-evicting queue Redis: its finished records expire after its own result TTL."""
    from support_jobs import state_is, wait_job

    name = f"ttl-{uuid.uuid4().hex[:8]}"
    schedules = {
        "short": Schedule(f"{name}-short", "0 * * * *", "noop", catchup_seconds=7200, result_ttl_seconds=120),
        "default": Schedule(f"{name}-default", "0 * * * *", "noop", catchup_seconds=7200),
    }
    pool = await create_pool(stack.database_url, maxsize=2)
    try:
        scheduler = Scheduler(queue, pool, result_ttl=3600, schedules=schedules)
        now = time.time()
        await scheduler.tick(now=now - 3600)  # first start
        assert await scheduler.tick(now=now) == 2
    finally:
        pool.close()
        await pool.wait_closed()
    hour = int(now // 3600 * 3600)
    short, default = f"cron:{name}-short:0:{hour}", f"cron:{name}-default:0:{hour}"
    procs.start("w1", JOB_RESULT_TTL_SECONDS="7200")
    for job_id in (short, default):
        await wait_job(queue, job_id, state_is("SUCCESS"))
    assert 0 < await queue.ttl(keys.job_record(short)) <= 120
    assert 120 < await queue.ttl(keys.job_record(default)) <= 7200
