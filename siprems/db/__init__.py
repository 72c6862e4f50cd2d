"""PostgreSQL access through pgbouncer (transaction pooling) with aiopg.

Rules that keep us safe under transaction pooling: no session state (`SET`,
session advisory locks, prepared statements); every multi-statement unit runs
inside `transaction()`; single statements run in autocommit.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Sequence

import aiopg
import psycopg2.extras

from siprems.db import aiopg_patch

aiopg_patch.apply()  # a refused connect must not break later connects under uvloop (aiopg #909)


async def create_pool(dsn: str, *, minsize: int = 0, maxsize: int = 10, timeout: float = 10.0) -> aiopg.Pool:
    # enable_hstore=False: avoids a pg_type lookup on every new connection.
    return await aiopg.create_pool(
        dsn,
        minsize=minsize,
        maxsize=maxsize,
        timeout=timeout,
        enable_hstore=False,
        pool_recycle=300,
    )


@asynccontextmanager
async def cursor(pool: aiopg.Pool) -> AsyncIterator[Any]:
    """A dict cursor in autocommit mode (each statement is its own transaction)."""
    async with pool.acquire() as conn:
        async with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            yield cur


@asynccontextmanager
async def transaction(pool: aiopg.Pool) -> AsyncIterator[Any]:
    """A dict cursor inside BEGIN … COMMIT; rolls back on any exception."""
    async with pool.acquire() as conn:
        async with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            async with cur.begin():
                yield cur


async def fetch_all(pool: aiopg.Pool, sql: str, params: Sequence[Any] | dict | None = None) -> list[dict]:
    async with cursor(pool) as cur:
        await cur.execute(sql, params)
        return [dict(row) for row in await cur.fetchall()]


async def fetch_one(pool: aiopg.Pool, sql: str, params: Sequence[Any] | dict | None = None) -> dict | None:
    async with cursor(pool) as cur:
        await cur.execute(sql, params)
        row = await cur.fetchone()
        return dict(row) if row is not None else None


async def execute(pool: aiopg.Pool, sql: str, params: Sequence[Any] | dict | None = None) -> int:
    async with cursor(pool) as cur:
        await cur.execute(sql, params)
        return cur.rowcount
