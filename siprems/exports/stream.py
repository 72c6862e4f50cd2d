"""Rows of a query in batches from a server-side cursor (DECLARE ... FETCH)
inside one read-only REPEATABLE READ transaction: every part of an export
sees the same snapshot, and only one batch is in memory at a time.

Under pgbouncer transaction pooling a cursor lives exactly as long as its
transaction, which is what we want; the pooled connection is held until the
export ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from siprems.db import transaction

BATCH = 2000


class Snapshot:
    def __init__(self, cur) -> None:
        self._cur = cur
        self._n = 0

    async def rows(self, sql: str, params: Any = None, batch: int = BATCH) -> AsyncIterator[list[dict]]:
        self._n += 1
        name = f"export_{self._n}"
        await self._cur.execute(f"DECLARE {name} NO SCROLL CURSOR FOR {sql}", params)
        while True:
            await self._cur.execute(f"FETCH {batch} FROM {name}")
            rows = await self._cur.fetchall()
            if not rows:
                break
            yield rows
        await self._cur.execute(f"CLOSE {name}")

    async def one(self, sql: str, params: Any = None) -> dict | None:
        await self._cur.execute(sql, params)
        row = await self._cur.fetchone()
        return dict(row) if row is not None else None


@asynccontextmanager
async def snapshot(pool) -> AsyncIterator[Snapshot]:
    async with transaction(pool) as cur:
        await cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield Snapshot(cur)
