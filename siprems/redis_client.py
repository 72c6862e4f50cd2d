"""Redis clients. Two logical Redis servers: one for cache and chat (may evict
with LRU), one for the job queue (noeviction, AOF). Key names live in
`siprems.keys`."""

from __future__ import annotations

import redis.asyncio as aioredis

MAX_CONNECTIONS = 64


def create_redis(url: str, timeout: float = 1.0) -> aioredis.Redis:
    # Short timeouts: a Redis outage must turn into a fast 503 or a cache
    # miss, never a hung request. A blocking pool makes a burst wait briefly
    # for a free connection instead of failing with "Too many connections".
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=max(timeout, 1.0) * 2,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=15,
        retry_on_timeout=False,
    )
    return aioredis.Redis.from_pool(pool)  # the client owns (and closes) its pool
