"""Redis clients. Two logical Redis servers: one for cache and chat (may evict
with LRU), one for the job queue (noeviction, AOF). Key names live in
`siprems.keys`."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

Redis = aioredis.Redis  # the type of every client here (cache and queue)

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
        # After a Redis restart every pooled connection is dead and fails its
        # next command: retry a connection error once, at once, on a fresh
        # connection (a down server still fails in milliseconds). Timeouts are
        # not retried, so a hung Redis still costs one socket timeout.
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )
    return aioredis.Redis.from_pool(pool)  # the client owns (and closes) its pool
