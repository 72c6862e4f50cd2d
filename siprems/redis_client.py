"""Redis clients. Two logical Redis servers: one for cache and chat (may evict
with LRU), one for the job queue (noeviction, AOF). Key names live in
`siprems.keys`."""

from __future__ import annotations

import redis.asyncio as aioredis


def create_redis(url: str, timeout: float = 1.0) -> aioredis.Redis:
    # Short timeouts: a Redis outage must turn into a fast 503 or a cache
    # miss, never a hung request.
    return aioredis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=15,
        retry_on_timeout=False,
        decode_responses=False,
        max_connections=64,
    )
