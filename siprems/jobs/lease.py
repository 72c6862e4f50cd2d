"""Lease renewal and heartbeats, on a thread of their own.

A running job's stream entry stays in this worker's pending list; the janitor
of any worker reclaims entries idle longer than the visibility timeout. Every
visibility/4 this thread resets the idle time of the entries we still run
(XCLAIM ... JUSTID: no delivery-count bump), so long jobs are never stolen.
It runs on a thread with its own (blocking) Redis client so that a handler
that hogs the event loop with CPU work cannot starve renewals or heartbeats;
a hung job stops being renewed once it is past its deadline, so the queue
gets it back.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
import redis

from siprems import keys
from siprems.jobs import scripts

log = logging.getLogger("siprems.jobs.lease")

HEARTBEAT_SECONDS = 2.0
HEARTBEAT_TTL_SECONDS = 30
RENEW_CHUNK = 500


class LeaseKeeper(threading.Thread):
    def __init__(self, url: str, consumer: str, visibility_ms: int, info: Callable[[], dict[str, Any]]):
        super().__init__(name="lease-keeper", daemon=True)
        self.consumer = consumer
        self.interval = max(0.05, visibility_ms / 4000)
        self._info = info
        self._redis = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5)
        self._renew = self._redis.register_script(scripts.RENEW)
        self._lock = threading.Lock()
        self._held: dict[str, dict[str, float]] = {}  # queue -> entry id -> deadline (monotonic)
        self._lost: set[tuple[str, str]] = set()
        self._halt = threading.Event()

    # -- called from the event loop ---------------------------------------------
    def hold(self, queue: str, entry_id: str, deadline: float) -> None:
        with self._lock:
            self._held.setdefault(queue, {})[entry_id] = deadline

    def release(self, queue: str, entry_id: str) -> None:
        with self._lock:
            self._held.get(queue, {}).pop(entry_id, None)
            self._lost.discard((queue, entry_id))

    def is_lost(self, queue: str, entry_id: str) -> bool:
        return (queue, entry_id) in self._lost

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)

    # -- the thread -------------------------------------------------------------
    def run(self) -> None:
        next_renewal = next_beat = 0.0
        while not self._halt.is_set():
            now = time.monotonic()
            try:
                if now >= next_renewal:
                    self._renew_all(now)
                    next_renewal = now + self.interval
                if now >= next_beat:
                    self._heartbeat()
                    next_beat = now + HEARTBEAT_SECONDS
            except redis.RedisError as exc:
                log.warning("lease renewal or heartbeat failed: %s", exc)
            self._halt.wait(max(0.01, min(next_renewal, next_beat) - time.monotonic()))
        self._farewell()

    def _renew_all(self, now: float) -> None:
        with self._lock:
            # Past its deadline (hung, or the loop is blocked): let the lease lapse.
            held = {q: [e for e, deadline in entries.items() if deadline > now] for q, entries in self._held.items()}
        for queue, entry_ids in held.items():
            for start in range(0, len(entry_ids), RENEW_CHUNK):
                chunk = entry_ids[start : start + RENEW_CHUNK]
                lost = self._renew(args=[keys.job_stream(queue), keys.JOBS_GROUP, self.consumer, *chunk])
                if lost:
                    with self._lock:
                        still_held = self._held.get(queue, {})
                        self._lost.update((queue, e) for e in lost if e in still_held)

    def _heartbeat(self) -> None:
        info = {**self._info(), "name": self.consumer, "host": socket.gethostname(), "pid": os.getpid()}
        pipe = self._redis.pipeline(transaction=False)
        pipe.zadd(keys.JOBS_WORKERS, {self.consumer: int(time.time() * 1000)})
        pipe.set(keys.job_worker_info(self.consumer), orjson.dumps(info), ex=HEARTBEAT_TTL_SECONDS)
        pipe.execute()

    def _farewell(self) -> None:
        try:
            pipe = self._redis.pipeline(transaction=False)
            pipe.zrem(keys.JOBS_WORKERS, self.consumer)
            pipe.delete(keys.job_worker_info(self.consumer))
            pipe.execute()
        except redis.RedisError:
            pass
        self._redis.close()
