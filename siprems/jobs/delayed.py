"""Delayed delivery: retries and jobs with a due time wait in one sorted set
(score: due time in ms); the mover XADDs due jobs into their streams, each
move atomic with its ZREM (Lua), so several movers (one per worker) never
deliver a job twice or lose one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from redis import exceptions as redis_errors

from siprems.jobs import scripts
from siprems.jobs.records import text
from siprems.redis_client import Redis

log = logging.getLogger("siprems.jobs.delayed")

BATCH = 200
MAX_SLEEP_SECONDS = 0.5  # also bounds how late a job enqueued by another process moves


class DelayedMover:
    def __init__(self, redis: Redis) -> None:
        self._move = redis.register_script(scripts.MOVE_DUE)
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """A job was just delayed by this process: recompute the next due time."""
        self._wake.set()

    async def move_due(self) -> tuple[int, float | None]:
        """Move every due job; returns (moved, next due time in unix seconds)."""
        moved, next_due = await self._move(args=[*scripts.PREFIX_ARGS, BATCH])
        next_due = text(next_due)
        return int(moved), (float(next_due) / 1000 if next_due else None)

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                moved, next_due = await self.move_due()
            except redis_errors.RedisError as exc:  # down, or full (OOM): due jobs wait, none is lost
                log.warning("delayed mover: %s", exc)
                await asyncio.sleep(1)
                continue
            if moved >= BATCH:
                continue
            wait = MAX_SLEEP_SECONDS
            if next_due is not None:
                wait = min(wait, max(0.0, next_due - time.time()))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
