"""Per-store read cache in Redis, invalidated by generation.

Each store has a generation counter; cache keys embed it. A write bumps the
counter *after* its transaction commits, so every reader that sees the new
generation reads the database after the commit: reads are correct right
after a write, on any instance. If Redis is down, reads go to PostgreSQL and
writes skip the bump (entries then expire by TTL).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Awaitable, Callable

import redis.exceptions

from siprems import jsonutil, keys, metrics

log = logging.getLogger("siprems.cache")
_REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)

async def cached(redis, store_id: int, name: str, ttl: int, load: Callable[[], Awaitable[Any]]) -> Any:
    """Return the cached value for (store, name), or load, store and return it."""
    started = time.perf_counter()
    try:
        generation = int(await redis.get(keys.cache_generation(store_id)) or 0)
        key = keys.cache_entry(store_id, generation, name)
        raw = await redis.get(key)
    except _REDIS_ERRORS as exc:
        metrics.CACHE.labels("error").inc()
        log.warning("cache unavailable, reading through: %r", exc)
        return await load()
    metrics.REDIS_LATENCY.labels("cache_get").observe(time.perf_counter() - started)
    if raw is not None:
        metrics.CACHE.labels("hit").inc()
        return jsonutil.loads(raw)
    metrics.CACHE.labels("miss").inc()
    value = await load()
    try:
        await redis.set(key, jsonutil.dumps(value), ex=ttl)
    except _REDIS_ERRORS:
        metrics.CACHE.labels("error").inc()
    return value


async def invalidate(redis, store_id: int) -> None:
    """Call after a committed write that changes what a store's reads return."""
    try:
        await redis.incr(keys.cache_generation(store_id))
    except _REDIS_ERRORS as exc:
        metrics.CACHE.labels("error").inc()
        log.warning("cache invalidation skipped (Redis down); entries expire by TTL: %r", exc)
