"""Crash recovery: every worker with free slots reclaims entries that have
sat in a pending list longer than the visibility timeout (their worker died
or hangs) with XAUTOCLAIM, and runs them. XAUTOCLAIM is atomic, so two
janitors never claim the same entry and no lock is needed. The delivery
counter is checked when the claimed entry starts (`scripts.START_BATCH`):
past `job_max_deliveries` the job goes to the dead-letter stream as FAILURE.
Stale consumers (dead workers that own nothing) are removed now and then.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from siprems import keys
from siprems.jobs import scripts
from siprems.jobs.records import text

log = logging.getLogger("siprems.jobs.janitor")

PRUNE_EVERY_SECONDS = 300


class Janitor:
    def __init__(self, worker: Any) -> None:  # a runtime.Worker (which imports this module)
        self.worker = worker
        self.min_idle_ms = worker.visibility_ms
        self.interval = max(0.1, worker.visibility_ms / 2000)
        self._prune = worker.redis.register_script(scripts.PRUNE_CONSUMERS)
        self._next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
        # Consumers idle this long own nothing we still want to track.
        self.prune_idle_ms = max(3_600_000, 10 * worker.visibility_ms)

    async def reclaim(self, free: int) -> int:
        """Claim up to `free` abandoned entries across our queues and start them."""
        w = self.worker
        claimed = 0
        for queue in w.queues:
            cursor = "0-0"
            while free > 0:
                reply = await w.redis.xautoclaim(
                    keys.job_stream(queue),
                    keys.JOBS_GROUP,
                    w.name,
                    min_idle_time=self.min_idle_ms,
                    start_id=cursor,
                    count=free,
                )
                cursor, entries = text(reply[0]), reply[1]
                deleted = reply[2] if len(reply) > 2 else []
                if deleted:  # cannot happen with our trimming (XDEL after XACK); say so if it does
                    log.warning(
                        "entries deleted while pending", extra={"queue": queue, "ids": [text(d) for d in deleted]}
                    )
                entries = [(e, f) for e, f in entries if (queue, text(e)) not in w.inflight]
                if entries:
                    log.info("reclaimed %d abandoned entries", len(entries), extra={"queue": queue})
                    await w.dispatch(queue, entries, check_deliveries=True)
                    claimed += len(entries)
                    free -= len(entries)
                if cursor == "0-0":
                    break
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
            await self.prune_consumers()
        return claimed

    async def prune_consumers(self) -> list[str]:
        removed: list[str] = []
        for queue in self.worker.queues:
            names = await self._prune(args=[keys.job_stream(queue), keys.JOBS_GROUP, self.prune_idle_ms])
            removed += [text(n) for n in names]
        if removed:
            log.info("removed stale consumers", extra={"consumers": removed})
        return removed
