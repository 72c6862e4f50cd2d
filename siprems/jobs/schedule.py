"""Periodic jobs (croniter expressions; a 6th field means seconds).

Any number of scheduler processes may run. Each occurrence is enqueued
exactly once: the enqueue script sets a per-occurrence marker
(`keys.cron_fire`, SET NX) and adds the job in the same atomic step, and the
job id itself is deterministic (`cron:<name>:<store>:<unix time>`), so a
second scheduler, or the same one after a restart, finds it already there.

Catch-up policy (what happens to occurrences missed while no scheduler ran):
  * Each schedule remembers the latest occurrence handled (`keys.cron_last`).
  * Occurrences at most MISFIRE_GRACE_SECONDS old are all fired, one job each
    (a slow tick, a restart, a short outage lose nothing).
  * Of older missed occurrences only the most recent one fires, and only if
    it is at most `catchup_seconds` old (per schedule); the others are
    skipped. Running a nightly retrain three times in a row after a weekend
    outage helps no one; running it once when the scheduler comes back
    within the morning does.
  * The very first start (no memory yet) fires nothing from the past.

Per-store schedules are read in each store's time zone (e.g. 02:00 local)
and enqueue one job per store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from croniter import croniter

from siprems import keys
from siprems.db import Pool, fetch_all
from siprems.jobs import producer, scripts
from siprems.jobs.records import text
from siprems.jobs.registry import SCHEDULES, Schedule, register_schedule
from siprems.redis_client import Redis

__all__ = ["SCHEDULES", "Schedule", "Scheduler", "occurrences", "register_schedule", "to_fire"]

log = logging.getLogger("siprems.jobs.scheduler")

MISFIRE_GRACE_SECONDS = 10
STORE_CACHE_SECONDS = 60


def occurrences(expr: str, tz: str, after: float, until: float, limit: int = 100_000) -> list[int]:
    """Fire times (unix s) in (after, until] of `expr` read in time zone `tz`."""
    it = croniter(expr, datetime.fromtimestamp(after, ZoneInfo(tz)))
    found: list[int] = []
    while len(found) < limit:
        t = it.get_next(float)
        if t > until:
            break
        found.append(int(t))
    return found


def to_fire(missed: list[int], now: float, catchup_seconds: int) -> list[int]:
    """The catch-up policy (module docstring) applied to occurrences not yet handled."""
    recent = [t for t in missed if now - t <= MISFIRE_GRACE_SECONDS]
    older = [t for t in missed if now - t > MISFIRE_GRACE_SECONDS]
    if older and now - older[-1] <= catchup_seconds:
        return [older[-1], *recent]
    return recent


class Scheduler:
    def __init__(
        self, redis: Redis, pool: Pool | None = None, *, result_ttl: int, schedules: dict[str, Schedule] | None = None
    ) -> None:
        self.redis = redis
        self.pool = pool
        self.result_ttl = result_ttl
        self.schedules = schedules if schedules is not None else SCHEDULES
        self._raise_to = redis.register_script(scripts.RAISE_TO)
        self._stores: list[tuple[str, list[int]]] = []
        self._stores_at = 0.0
        self._failed_at: dict[str, float] = {}  # throttles the error log

    async def run(self, stopping: asyncio.Event) -> None:
        log.info("scheduler started", extra={"schedules": sorted(self.schedules)})
        while not stopping.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("scheduler tick failed")
            # Wake just after the next whole second (the finest cron resolution).
            delay = 1.02 - (time.time() % 1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), delay)

    async def tick(self, now: float | None = None) -> int:
        now = time.time() if now is None else now
        fired = 0
        for schedule in self.schedules.values():
            try:
                for scope, tz, store_ids in await self._scopes(schedule):
                    fired += await self._fire(schedule, scope, tz, store_ids, now)
            except Exception:  # e.g. PostgreSQL down: other schedules still fire
                if time.monotonic() - self._failed_at.get(schedule.name, -3600.0) > 60:
                    log.exception("schedule failed; retrying every second", extra={"schedule": schedule.name})
                    self._failed_at[schedule.name] = time.monotonic()
        return fired

    async def _scopes(self, schedule: Schedule) -> list[tuple[str, str, list[int]]]:
        if not schedule.per_store:
            return [("global", schedule.timezone, [0])]
        if self.pool is None:
            return []
        if time.monotonic() - self._stores_at > STORE_CACHE_SECONDS:
            rows = await fetch_all(
                self.pool, "SELECT timezone, array_agg(store_id ORDER BY store_id) AS ids FROM stores GROUP BY timezone"
            )
            self._stores = [(r["timezone"], list(r["ids"])) for r in rows]
            self._stores_at = time.monotonic()
        return [(f"tz:{tz}", tz, ids) for tz, ids in self._stores]

    async def _fire(self, schedule: Schedule, scope: str, tz: str, store_ids: list[int], now: float) -> int:
        last_key = keys.cron_last(schedule.name, scope)
        last = await self.redis.get(last_key)
        if last is None:  # first start: nothing from the past
            await self.redis.set(last_key, int(now), nx=True)
            return 0
        horizon = now - max(schedule.catchup_seconds, MISFIRE_GRACE_SECONDS) - 1
        try:
            missed = occurrences(schedule.cron, tz, max(float(text(last)), horizon), now)
        except Exception:
            log.exception("cannot evaluate schedule", extra={"schedule": schedule.name, "timezone": tz})
            return 0
        if not missed:
            return 0
        fire_ttl = max(schedule.catchup_seconds, MISFIRE_GRACE_SECONDS) + 3600
        specs = [
            producer.JobSpec(
                schedule.job_type,
                dict(schedule.args),
                store_id=store_id,
                job_id=f"cron:{schedule.name}:{store_id}:{t}",
                fire_key=keys.cron_fire(schedule.name, str(store_id), t),
                fire_ttl=fire_ttl,
                result_ttl=schedule.result_ttl_seconds,
            )
            for t in to_fire(missed, now, schedule.catchup_seconds)
            for store_id in store_ids
        ]
        created = 0
        for start in range(0, len(specs), 200):
            created += sum(r.created for r in await producer.enqueue_many(self.redis, specs[start : start + 200]))
        # Only after every job of these occurrences is in: a crash before this
        # line makes the next tick (of any scheduler) redo them, idempotently.
        await self._raise_to(keys=[last_key], args=[missed[-1]])
        if created:
            log.info("enqueued %d scheduled jobs", created, extra={"schedule": schedule.name, "scope": scope})
        return created
