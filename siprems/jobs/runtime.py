"""The worker: consumes the job streams of one consumer group and runs jobs.

Order of events for one entry: read (XREADGROUP, COUNT = free slots) -> start
(`START_BATCH`: state STARTED, or acknowledged at once if revoked, finished,
or delivered too often) -> handler -> finish (`FINISH_BATCH`: state, result,
XACK and XDEL in one script). The acknowledgement comes only after the
handler returned, i.e. after its effects committed. Starts and finishes are
batched (one script call per batch) and finishes are pipelined, which is what
makes thousands of small jobs per second possible.

At start a worker first re-reads its own pending entries (ID 0), then new
ones (`>`). SIGTERM: stop reading, let running jobs finish for up to
`job_shutdown_grace_seconds`, hand the rest back to the queue, exit 0. A
second SIGTERM or SIGINT hands back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis import exceptions as redis_errors

from siprems import keys
from siprems.config import Settings
from siprems.db import Pool
from siprems.jobs import scripts
from siprems.jobs.context import JobContext
from siprems.jobs.delayed import DelayedMover
from siprems.jobs.durations import DurationStats
from siprems.jobs.execution import run_handler
from siprems.jobs.finisher import TRANSIENT, Finisher
from siprems.jobs.janitor import Janitor
from siprems.jobs.lease import LeaseKeeper
from siprems.jobs.records import text
from siprems.jobs.registry import QUEUES, UnknownJobType, get_type
from siprems.redis_client import Redis, create_redis

log = logging.getLogger("siprems.jobs.worker")

BATCH_WAIT_SECONDS = 0.002


def queue_client(url: str, block_ms: int) -> aioredis.Redis:
    # The socket timeout must exceed the XREADGROUP block time.
    return aioredis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=block_ms / 1000 + 10,
        socket_connect_timeout=5,
        health_check_interval=30,
    )


async def ensure_groups(redis: Redis, queues: Sequence[str]) -> None:
    """Create each stream's group from ID 0 (so entries added before the group
    existed are delivered too); BUSYGROUP means it already exists."""
    for queue in queues:
        try:
            await redis.xgroup_create(keys.job_stream(queue), keys.JOBS_GROUP, id="0", mkstream=True)
        except redis_errors.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


class Worker:
    def __init__(
        self,
        settings: Settings,
        *,
        queues: Sequence[str] = QUEUES,
        concurrency: int | None = None,
        name: str | None = None,
        pool: Pool | None = None,
    ) -> None:
        self.settings = settings
        self.queues = list(queues)
        self.concurrency = max(1, concurrency or settings.job_concurrency)
        self.name = name or f"{settings.instance}:{os.getpid()}"
        self.visibility_ms = settings.job_visibility_timeout_ms
        self.block_ms = int(min(1000, max(20, self.visibility_ms // 4)))
        self.redis = queue_client(settings.queue_redis_url, self.block_ms)
        self.cache_redis = create_redis(settings.redis_url)  # handed to handlers (cache invalidation)
        self.pool = pool
        self.inflight: dict[tuple[str, str], asyncio.Task[None] | None] = {}
        self.stopping = asyncio.Event()
        self._hurry = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._handing_back = False
        self._recover = True  # re-read our own pending list before new entries
        self._rr = 0
        self.processed = 0
        self.started_at = time.time()
        self._start = self.redis.register_script(scripts.START_BATCH)
        self.mover = DelayedMover(self.redis)
        self.durations = DurationStats()
        self.finisher = Finisher(
            self.redis, settings.job_result_ttl_seconds, recorded=self._recorded, retried=self.mover.notify
        )
        self.janitor = Janitor(self)
        self.lease = LeaseKeeper(settings.queue_redis_url, self.name, self.visibility_ms, self._info)

    def _info(self) -> dict[str, Any]:
        return {
            "queues": self.queues,
            "concurrency": self.concurrency,
            "running": len(self.inflight),
            "processed": self.processed,
            "started_at": int(self.started_at),
        }

    # -- lifecycle -------------------------------------------------------------
    async def run(self) -> None:
        if self.pool is None:
            from siprems.db import create_pool

            self.pool = await create_pool(
                self.settings.database_url, maxsize=self.settings.db_pool_max, timeout=self.settings.db_timeout
            )
        await ensure_groups(self.redis, self.queues)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        self.lease.start()
        log.info("worker started", extra={"worker": self.name, "queues": self.queues, "concurrency": self.concurrency})
        finisher = asyncio.create_task(self.finisher.run(lambda: self.stopping.is_set() and not self._running()))
        mover = asyncio.create_task(self.mover.run(self.stopping))
        durations = asyncio.create_task(self.durations.run(self.redis, self.stopping))
        try:
            await self._consume()
            await self._drain()
        finally:
            self.stopping.set()
            self.finisher.wake()
            try:
                await asyncio.wait_for(finisher, 30)
            except TimeoutError:
                log.error("could not record every finished job; they will be redelivered")
            mover.cancel()
            await asyncio.gather(mover, durations, return_exceptions=True)
            await self.durations.flush(self.redis)
            self.lease.stop()
            await self.redis.aclose()
            await self.cache_redis.aclose()
            self.pool.close()
            await self.pool.wait_closed()
            log.info("worker stopped", extra={"worker": self.name, "processed": self.processed})

    def request_stop(self) -> None:
        if self.stopping.is_set():
            self._hurry.set()
        log.info("stopping: running jobs finish first", extra={"worker": self.name})
        self.stopping.set()
        self._slot_freed.set()

    async def _drain(self) -> None:
        """Let running jobs finish within the grace period, then hand the rest back."""
        running = [t for t in self.inflight.values() if t is not None and not t.done()]
        if running:
            hurry = asyncio.create_task(self._hurry.wait())
            await self._wait_running(running, hurry)
            hurry.cancel()
        left = [t for t in self.inflight.values() if t is not None and not t.done()]
        if left:
            log.warning("handing %d running jobs back to the queue", len(left))
            self._handing_back = True
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)

    async def _wait_running(self, running: Iterable[asyncio.Future[Any]], hurry: asyncio.Future[Any]) -> None:
        deadline = time.monotonic() + self.settings.job_shutdown_grace_seconds
        pending = set(running)
        while pending and not hurry.done():
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                return
            _, pending = await asyncio.wait(pending | {hurry}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            pending.discard(hurry)

    # -- reading ---------------------------------------------------------------
    def free_slots(self) -> int:
        return self.concurrency - len(self.inflight)

    async def _consume(self) -> None:
        next_janitor = 0.0
        batched = False
        while not self.stopping.is_set():
            free = self.free_slots()
            try:
                if free <= 0:
                    self._slot_freed.clear()
                    if self.free_slots() <= 0 and not self.stopping.is_set():
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._slot_freed.wait(), self.block_ms / 1000)
                    continue
                if self._recover:
                    await self._read_own_pending()
                    continue
                if free < self.concurrency // 2 and not batched:
                    # Busy: give finishing jobs a moment to free more slots, so
                    # reads come in bigger batches (an idle worker reads at once).
                    batched = True
                    self._slot_freed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._slot_freed.wait(), BATCH_WAIT_SECONDS)
                    continue
                batched = False
                now = time.monotonic()
                if now >= next_janitor:
                    next_janitor = now + self.janitor.interval
                    await self.janitor.reclaim(free)
                    continue
                block = max(1, min(self.block_ms, int((next_janitor - now) * 1000)))
                await self._read_new(free, block)
            except redis_errors.ResponseError as exc:
                if "NOGROUP" in str(exc):
                    await ensure_groups(self.redis, self.queues)
                else:
                    log.exception("queue error")
                    await asyncio.sleep(1)
            except TRANSIENT as exc:
                log.warning("queue unavailable: %s", exc)
                self._recover = True
                await asyncio.sleep(1)

    async def _read_new(self, free: int, block_ms: int) -> None:
        n = len(self.queues)
        if free >= n:
            queues, count = self.queues, free // n
        else:  # fewer slots than queues: read `free` queues, one entry each (rotating)
            self._rr += 1
            queues, count = [self.queues[(self._rr + i) % n] for i in range(free)], 1
        reply = await self.redis.xreadgroup(
            keys.JOBS_GROUP, self.name, {keys.job_stream(q): ">" for q in queues}, count=count, block=block_ms
        )
        for stream, entries in _stream_items(reply):
            await self.dispatch(_queue_of(stream), entries)

    async def _read_own_pending(self) -> None:
        """Entries delivered to this consumer name but never acknowledged (a
        previous life of this worker): run them before anything new."""
        for queue in self.queues:
            last = "0"
            while self.free_slots() > 0:
                reply = await self.redis.xreadgroup(
                    keys.JOBS_GROUP, self.name, {keys.job_stream(queue): last}, count=self.free_slots()
                )
                entries = [e for _, es in _stream_items(reply) for e in es]
                if not entries:
                    break
                last = text(entries[-1][0])
                fresh = [(e, f) for e, f in entries if (queue, text(e)) not in self.inflight]
                if fresh:
                    await self.dispatch(queue, fresh, check_deliveries=True)
        self._recover = False

    # -- running ---------------------------------------------------------------
    async def dispatch(self, queue: str, entries: Any, check_deliveries: bool = False) -> None:
        """Start a batch of entries: one script call marks them STARTED (or
        acknowledges those that must not run), then one task per job."""
        pairs: list[str] = []
        stale: list[str] = []
        for entry_id, fields in entries:
            entry_id = text(entry_id)
            job_id = text((fields or {}).get("id", ""))
            if not job_id:  # deleted or foreign entry: nothing to run
                stale.append(entry_id)
                continue
            self.inflight[(queue, entry_id)] = None
            self.lease.hold(queue, entry_id, time.monotonic() + 300)
            pairs += [entry_id, job_id]
        if stale:
            await self.redis.xack(keys.job_stream(queue), keys.JOBS_GROUP, *stale)
        if not pairs:
            return
        max_deliveries = self.settings.job_max_deliveries if check_deliveries else 0
        try:
            rows = await self._start(
                args=[
                    *scripts.PREFIX_ARGS,
                    queue,
                    keys.JOBS_GROUP,
                    self.name,
                    max_deliveries,
                    self.settings.job_result_ttl_seconds,
                    *pairs,
                ]
            )
        except Exception:
            for entry_id in pairs[0::2]:
                self._release(queue, entry_id)
            self._recover = True  # they are still ours, pending: pick them up again
            raise
        for row in rows:
            row = [text(v) for v in row]
            entry_id, verdict = row[0], row[1]
            if verdict == "RUN":
                self.inflight[(queue, entry_id)] = asyncio.create_task(self._execute(queue, row))
            else:
                if verdict == "DEAD":
                    log.error("job dead-lettered after too many deliveries", extra={"job_id": row[2]})
                self._release(queue, entry_id)

    async def _execute(self, queue: str, row: list[str]) -> None:
        entry_id, _, job_id, job_type, args_json, store_id, attempts, failures, max_retries, _parent = row
        try:
            jt = get_type(job_type)
        except UnknownJobType as exc:
            self.finisher.add(queue, entry_id, job_id, "FAILURE", str(exc), "")
            return
        self.lease.hold(queue, entry_id, time.monotonic() + jt.timeout + self.visibility_ms / 1000)
        assert self.pool is not None  # created by run() before any dispatch
        ctx = JobContext(
            job_id=job_id,
            job_type=job_type,
            store_id=int(store_id or 0),
            args=orjson.loads(args_json),
            attempt=int(attempts),
            redis=self.redis,
            cache_redis=self.cache_redis,
            pool=self.pool,
            settings=self.settings,
            worker=self.name,
            lease_lost=lambda: self.lease.is_lost(queue, entry_id),
        )
        started = time.perf_counter()
        outcome = await run_handler(
            jt, ctx, failures=int(failures), max_retries=int(max_retries), handing_back=lambda: self._handing_back
        )
        self.durations.observe(job_type, outcome[0] if outcome else "LEASE_LOST", time.perf_counter() - started)
        if outcome is None:  # lease lost: the new owner finishes it
            self._release(queue, entry_id)
        else:
            self.finisher.add(queue, entry_id, job_id, *outcome)

    def _recorded(self, queue: str, entry_id: str) -> None:
        self._release(queue, entry_id)
        self.processed += 1

    def _release(self, queue: str, entry_id: str) -> None:
        self.inflight.pop((queue, entry_id), None)
        self.lease.release(queue, entry_id)
        self._slot_freed.set()

    def _running(self) -> bool:
        return any(t is None or not t.done() for t in self.inflight.values())


def _stream_items(reply: Any) -> list[Any]:
    """XREADGROUP reply (RESP2): [[stream, [(entry id, fields), ...]], ...]."""
    return reply or []


def _queue_of(stream: Any) -> str:
    return text(stream)[len(keys.job_stream("")) :]


async def run_worker(settings: Settings, **options: Any) -> None:
    await Worker(settings, **options).run()
