"""Records finished jobs (state, result, XACK, XDEL) in batches: one
FINISH_BATCH script call per queue and chunk, all in one pipeline. While one
flush is on the wire the next batch gathers, so an idle worker acknowledges
at once and a busy one in big batches."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from redis import exceptions as redis_errors

from siprems import keys
from siprems.jobs import scripts
from siprems.redis_client import Redis

log = logging.getLogger("siprems.jobs.worker")

CHUNK = 500
TRANSIENT = (redis_errors.ConnectionError, redis_errors.TimeoutError)


class Finisher:
    def __init__(
        self, redis: Redis, result_ttl: int, *, recorded: Callable[[str, str], None], retried: Callable[[], None]
    ):
        self._redis = redis
        self._finish = redis.register_script(scripts.FINISH_BATCH)
        self._ttl = result_ttl
        self._recorded = recorded  # (queue, entry id) once acknowledged
        self._retried = retried  # a job went to the delayed set
        self._done: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        self._event = asyncio.Event()

    def add(self, queue: str, entry_id: str, job_id: str, outcome: str, a: str, b: str) -> None:
        self._done[queue].append((entry_id, job_id, outcome, a, b))
        self._event.set()

    def wake(self) -> None:
        self._event.set()

    async def run(self, finished: Callable[[], bool]) -> None:
        """Flush until `finished()` (no job can still add an outcome) and nothing is left."""
        while True:
            await self._event.wait()
            self._event.clear()
            batch, self._done = self._done, defaultdict(list)
            while batch:
                try:
                    await self._flush(batch)
                    batch = {}
                except TRANSIENT as exc:
                    log.warning("cannot record finished jobs yet: %s", exc)
                    await asyncio.sleep(0.5)
                except Exception:  # a bug here must not silently stop all acknowledgements
                    log.exception("recording finished jobs failed")
                    await asyncio.sleep(1)
            if finished() and not any(self._done.values()):
                return

    async def _flush(self, batch: dict[str, list[tuple[Any, ...]]]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for queue, items in batch.items():
                for start in range(0, len(items), CHUNK):
                    flat = [v for item in items[start : start + CHUNK] for v in item]
                    await self._finish(
                        args=[*scripts.PREFIX_ARGS, queue, keys.JOBS_GROUP, self._ttl, *flat], client=pipe
                    )
            await pipe.execute()
        for queue, items in batch.items():
            for entry_id, *_ in items:
                self._recorded(queue, entry_id)
        if any(item[2] == "RETRY" for items in batch.values() for item in items):
            self._retried()
