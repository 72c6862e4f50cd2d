"""Dependency checks used by `/ready`, each bounded by a short timeout."""

from __future__ import annotations

import asyncio

CHECK_TIMEOUT = 2.0


async def _database(pool) -> str:
    async with pool.acquire() as conn:
        async with conn.cursor() as cur:
            await cur.execute("SELECT 1")
            await cur.fetchone()
    return "ok"


async def _redis(client) -> str:
    await client.ping()
    return "ok"


async def _bounded(coro) -> str:
    try:
        return await asyncio.wait_for(coro, CHECK_TIMEOUT)
    except Exception:  # any failure means "down"; the reason is not the client's business
        return "down"


async def check_all(pool, cache, queue) -> dict[str, str]:
    database, redis_status, queue_status = await asyncio.gather(
        _bounded(_database(pool)), _bounded(_redis(cache)), _bounded(_redis(queue))
    )
    return {"database": database, "redis": redis_status, "queue": queue_status}
