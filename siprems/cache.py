"""Per-store read cache in Redis, invalidated by generation.

Each store has a generation counter; cache keys embed it. A write bumps the
counter *after* its transaction commits, so every reader that sees the new
generation reads the database after the commit: reads are correct right
after a write, on any instance. If Redis is down, reads go to PostgreSQL and
writes skip the bump (entries then expire by TTL).
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

import redis.exceptions

from siprems import jsonutil, keys

log = logging.getLogger("siprems.cache")
_REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)

# Process-local hit/miss counters, exported by the metrics module.
stats = {"hits": 0, "misses": 0, "errors": 0}


async def cached(redis, store_id: int, name: str, ttl: int, load: Callable[[], Awaitable[Any]]) -> Any:
    """Return the cached value for (store, name), or load, store and return it."""
    try:
        generation = int(await redis.get(keys.cache_generation(store_id)) or 0)
        key = keys.cache_entry(store_id, generation, name)
        raw = await redis.get(key)
    except _REDIS_ERRORS as exc:
        stats["errors"] += 1
        log.warning("cache unavailable, reading through: %r", exc)
        return await load()
    if raw is not None:
        stats["hits"] += 1
        return jsonutil.loads(raw)
    stats["misses"] += 1
    value = await load()
    try:
        await redis.set(key, jsonutil.dumps(value), ex=ttl)
    except _REDIS_ERRORS:
        stats["errors"] += 1
    return value


async def invalidate(redis, store_id: int) -> None:
    """Call after a committed write that changes what a store's reads return."""
    try:
        await redis.incr(keys.cache_generation(store_id))
    except _REDIS_ERRORS as exc:
        stats["errors"] += 1
        log.warning("cache invalidation skipped (Redis down); entries expire by TTL: %r", exc)
