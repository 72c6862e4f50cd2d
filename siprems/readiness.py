"""Dependency checks used by `/ready`, each bounded by a short timeout."""

from __future__ import annotations

import asyncio

CHECK_TIMEOUT = 2.0


async def _database(pool) -> str:
    async with pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute("SELECT 1")
        await cur.fetchone()
    return "ok"


async def _redis(client) -> str:
    await client.ping()
    return "ok"


async def _bounded(coro) -> str:
    try:
        return await asyncio.wait_for(coro, CHECK_TIMEOUT)
    except Exception:  # noqa: BLE001 - any failure means "down"; the reason is not the client's business
        return "down"


async def _queue_info(client) -> dict:
    # Informational (workers alive, pending, lag, dead letters): never makes /ready fail.
    from siprems.jobs.status import queue_status

    try:
        return await asyncio.wait_for(queue_status(client), CHECK_TIMEOUT)
    except Exception:  # noqa: BLE001 - an unreadable queue shows as unavailable
        return {"error": "unavailable"}


async def check_all(pool, cache, queue) -> dict:
    database, redis_status, queue_status, queue_info = await asyncio.gather(
        _bounded(_database(pool)), _bounded(_redis(cache)), _bounded(_redis(queue)), _queue_info(queue)
    )
    return {"database": database, "redis": redis_status, "queue": queue_status, "queue_info": queue_info}
