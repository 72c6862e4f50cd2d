"""Per-store read cache in Redis, invalidated by generation.

Each store has a generation counter; cache keys embed it. A write bumps the
counter *after* its transaction commits, so every reader that sees the new
generation reads the database after the commit: reads are correct right
after a write, on any instance. If Redis is down, reads go to PostgreSQL and
writes skip the bump; the process remembers the store and bumps it as soon
as Redis answers again (Redis persists, so the old entries come back with it).

A read is one Redis round trip: a small Lua script reads the generation and
the entry of that generation together (a hit used to take two GETs).
"""

from __future__ import annotations

import logging
import time
import weakref
from typing import Any, Awaitable, Callable

import redis.exceptions

from siprems import jsonutil, keys, metrics

log = logging.getLogger("siprems.cache")
_REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)

# Stores whose invalidation this process could not do (Redis down), bumped
# when Redis is back: entries from before the write must not be served again.
_missed: set[int] = set()

# KEYS[1]: the store's generation counter; ARGV: entry key prefix and name.
# Returns {generation, entry or nil}.
_LOOKUP = """
local generation = redis.call('GET', KEYS[1]) or '0'
return {generation, redis.call('GET', ARGV[1] .. generation .. ':' .. ARGV[2]) or false}
"""
_lookups: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # client -> registered script


def _lookup_script(redis):
    script = _lookups.get(redis)
    if script is None:  # EVALSHA; reloaded by redis-py after a Redis restart (NOSCRIPT)
        script = _lookups[redis] = redis.register_script(_LOOKUP)
    return script


async def _catch_up(redis) -> None:
    while _missed:
        store_id = next(iter(_missed))
        await redis.incr(keys.cache_generation(store_id))
        _missed.discard(store_id)


async def cached(redis, store_id: int, name: str, ttl: int, load: Callable[[], Awaitable[Any]]) -> Any:
    """Return the cached value for (store, name), or load, store and return it."""
    started = time.perf_counter()
    try:
        if _missed:
            await _catch_up(redis)
        generation, raw = await _lookup_script(redis)(
            keys=[keys.cache_generation(store_id)], args=[keys.cache_entry_prefix(store_id), name]
        )
        key = keys.cache_entry(store_id, int(generation), name)
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
        if _missed:
            await _catch_up(redis)
    except _REDIS_ERRORS as exc:
        _missed.add(store_id)
        metrics.CACHE.labels("error").inc()
        log.warning("cache invalidation deferred until Redis is back: %r", exc)
