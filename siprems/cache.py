"""Per-store read cache in Redis, invalidated by family generations.

A store's cached reads fall into families, each with its own generation
counter; a read names the families it depends on and its key embeds their
generations. A write bumps the families it changes *after* its transaction
commits, so every reader that sees a new generation reads the database after
the commit: reads are correct right after a write, on any instance. A sale
bumps `catalog` (stock) and `sales`, so events, settings and forecast views
stay cached through a busy till.

If Redis is down, reads go to PostgreSQL and writes skip the bump; the process
remembers what it could not bump and does it as soon as Redis answers again
(Redis persists, so the old entries come back with it).

A read is one Redis round trip: a Lua script reads the generations and the
entry of those generations together. Entries are stored as the JSON bytes the
API sends: `cached_bytes` hands them back untouched (no decode and re-encode).
"""

from __future__ import annotations

import contextlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import redis.exceptions

from siprems import jsonutil, keys, metrics

log = logging.getLogger("siprems.cache")
_REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)

# What each family's reads depend on, and which writes bump it.
CATALOG = "catalog"  # products (incl. stock): product writes and imports, sales, receipts
SALES = "sales"  # transactions: sales and transaction imports
HISTORY = "history"  # past days' sales (what forecasts chart): transaction imports, not today's sales
EVENTS = "events"  # store events (holidays come from the store's country: SETTINGS)
SETTINGS = "settings"  # store fields, locale, opening hours
MODELS = "models"  # forecast models: a model save
WEBHOOKS = "webhooks"  # which events the store's endpoints want: webhook writes
FAMILIES = (CATALOG, SALES, HISTORY, EVENTS, SETTINGS, MODELS, WEBHOOKS)

# (store id, family) pairs this process could not bump (Redis down).
_missed: set[tuple[int, str]] = set()

# KEYS: the read's family generation counters; ARGV: entry key prefix, name.
# Returns {generations joined by '.', entry or false}.
_LOOKUP = """
local gens = {}
for i, key in ipairs(KEYS) do gens[i] = redis.call('GET', key) or '0' end
local joined = table.concat(gens, '.')
return {joined, redis.call('GET', ARGV[1] .. joined .. ':' .. ARGV[2]) or false}
"""
_lookups: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # client -> registered script


def _lookup_script(redis):
    script = _lookups.get(redis)
    if script is None:  # EVALSHA; reloaded by redis-py after a Redis restart (NOSCRIPT)
        script = _lookups[redis] = redis.register_script(_LOOKUP)
    return script


async def retry_missed(redis: Any) -> None:
    """Make the bumps this process could not make (see `invalidate`); quiet while Redis is still down."""
    if not _missed:
        return
    with contextlib.suppress(*_REDIS_ERRORS):  # still down: the next round tries again
        await _catch_up(redis)


async def _catch_up(redis) -> None:
    while _missed:
        store_id, family = next(iter(_missed))
        await redis.incr(keys.cache_generation(store_id, family))
        _missed.discard((store_id, family))


Ttl = int | Callable[[], int]  # seconds, or a function asked after the load
Loader = Callable[[], Awaitable[Any]]  # what a miss runs: the value to encode, or bytes as they are


def _encoded(value: Any) -> bytes:
    return value if isinstance(value, bytes) else jsonutil.dumps(value)


async def cached_bytes(redis, store_id: int, families: Iterable[str], name: str, ttl: Ttl, load: Loader) -> bytes:
    """The cached JSON bytes of (store, families, name), or load, encode, store and return them.

    `load` returns the value to encode, or bytes stored as they are. `ttl` may be
    a function, asked after `load` (which can then decide how long its answer holds)."""
    started = time.perf_counter()
    families = tuple(families)
    try:
        if _missed:
            await _catch_up(redis)
        generations, raw = await _lookup_script(redis)(
            keys=[keys.cache_generation(store_id, f) for f in families],
            args=[keys.cache_entry_prefix(store_id), name],
        )
    except _REDIS_ERRORS as exc:
        metrics.CACHE.labels("error").inc()
        log.warning("cache unavailable, reading through: %r", exc)
        return _encoded(await load())
    metrics.REDIS_LATENCY.labels("cache_get").observe(time.perf_counter() - started)
    if raw is not None:
        metrics.CACHE.labels("hit").inc()
        return raw
    metrics.CACHE.labels("miss").inc()
    body = _encoded(await load())
    try:
        seconds = ttl() if callable(ttl) else ttl
        await redis.set(keys.cache_entry(store_id, generations.decode(), name), body, ex=seconds)
    except _REDIS_ERRORS:
        metrics.CACHE.labels("error").inc()
    return body


async def cached(redis, store_id: int, families: Iterable[str], name: str, ttl: Ttl, load: Loader) -> Any:
    """Like `cached_bytes`, decoded: for callers that compute with the value."""
    return jsonutil.loads(await cached_bytes(redis, store_id, families, name, ttl, load))


async def invalidate(redis, store_id: int, *families: str) -> None:
    """Call after a committed write that changes what the named families' reads
    return (every family when none is named)."""
    families = families or FAMILIES
    try:
        if len(families) == 1:
            await redis.incr(keys.cache_generation(store_id, families[0]))
        else:
            async with redis.pipeline(transaction=False) as pipe:
                for family in families:
                    pipe.incr(keys.cache_generation(store_id, family))
                await pipe.execute()
        if _missed:
            await _catch_up(redis)
    except _REDIS_ERRORS as exc:
        _missed.update((store_id, f) for f in families)
        metrics.CACHE.labels("error").inc()
        log.warning("cache invalidation deferred until Redis is back: %r", exc)
