"""PostgreSQL access through pgbouncer (transaction pooling) with aiopg.

Rules that keep us safe under transaction pooling: no session state (`SET`,
session advisory locks, prepared statements); every multi-statement unit runs
inside `transaction()`; single statements run in autocommit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiopg
import orjson
import psycopg2.extensions
import psycopg2.extras

from siprems import metrics
from siprems.db import aiopg_patch

Pool = aiopg.Pool  # the type of `create_pool`'s result, for annotations everywhere

aiopg_patch.apply()  # a refused connect must not break later connects under uvloop (aiopg #909)
# json/jsonb columns (stored forecast models: 365-day paths) parsed with orjson,
# several times faster than the stdlib json psycopg2 uses by default.
psycopg2.extras.register_default_json(globally=True, loads=orjson.loads)
psycopg2.extras.register_default_jsonb(globally=True, loads=orjson.loads)


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


MAX_ID = 2**63 - 1  # BIGSERIAL


def is_id(value: int) -> bool:
    """Whether `value` can be a BIGSERIAL id (a larger number would be a SQL error, not a 404)."""
    return 0 < value <= MAX_ID


def _acquire(pool: aiopg.Pool):
    """`pool.acquire()`, counting the acquisitions that will have to wait."""
    if pool.freesize == 0 and pool.size >= pool.maxsize:
        metrics.DB_POOL_WAITS.inc()
    return pool.acquire()


class DictCursor(psycopg2.extensions.cursor):
    """Rows as plain dicts, built in one `dict(zip(...))` per row. psycopg2's
    RealDictCursor builds each row in Python, one `__setitem__` per column: it was
    ~15% of the API's CPU under the capacity workload (plus a `dict()` copy here)."""

    def _names(self) -> list[str]:
        return [c.name for c in self.description or ()]

    def fetchone(self) -> dict[str, Any] | None:  # type: ignore[override]
        row = super().fetchone()
        return None if row is None else dict(zip(self._names(), row, strict=True))

    def fetchmany(self, size: int | None = None) -> list[dict[str, Any]]:  # type: ignore[override]
        names = self._names()
        rows = super().fetchmany(self.arraysize if size is None else size)
        return [dict(zip(names, row, strict=True)) for row in rows]

    def fetchall(self) -> list[dict[str, Any]]:  # type: ignore[override]
        names = self._names()
        return [dict(zip(names, row, strict=True)) for row in super().fetchall()]

    def __iter__(self):  # type: ignore[override]
        names = self._names()
        return (dict(zip(names, row, strict=True)) for row in super().__iter__())


@asynccontextmanager
async def cursor(pool: aiopg.Pool) -> AsyncIterator[Any]:
    """A dict cursor in autocommit mode (each statement is its own transaction)."""
    async with _acquire(pool) as conn, conn.cursor(cursor_factory=DictCursor) as cur:
        yield cur


class TransactionCursor:
    """A dict cursor inside BEGIN … COMMIT that saves two round trips: BEGIN
    travels with the first statement, and `execute_and_commit` sends the last
    statement with its COMMIT (one simple query each; if a statement fails,
    PostgreSQL skips the rest of that query string and we roll back). Every
    round trip counts: each one costs the API worker, pgbouncer and PostgreSQL
    a few syscalls (a checkout went from 8 round trips to 4)."""

    def __init__(self, cur) -> None:
        self._cur = cur
        self.begun = False
        self.done = False

    def __getattr__(self, name: str):  # fetchone, fetchall, rowcount, ...
        return getattr(self._cur, name)

    async def execute(self, sql, params=None) -> None:
        if self.done:
            raise RuntimeError("transaction already committed")
        if not self.begun:
            self.begun = True
            if isinstance(sql, str):
                await self._cur.execute("BEGIN;\n" + sql, params)
                return
            await self._cur.execute("BEGIN")
        await self._cur.execute(sql, params)

    async def execute_and_commit(self, sql: str, params=None) -> None:
        """Run `sql` (its rows are not kept) and commit, in one round trip."""
        prefix = "" if self.begun else "BEGIN;\n"
        self.begun = True
        await self._cur.execute(f"{prefix}{sql};\nCOMMIT", params)
        self.done = True


@asynccontextmanager
async def transaction(pool: aiopg.Pool) -> AsyncIterator[Any]:
    """A dict cursor inside BEGIN … COMMIT; rolls back on any exception."""
    async with _acquire(pool) as conn, conn.cursor(cursor_factory=DictCursor) as cur:
        tx = TransactionCursor(cur)
        try:
            yield tx
        except BaseException:
            if tx.begun and not tx.done and not conn.closed:
                try:
                    await cur.execute("ROLLBACK")
                except Exception:  # noqa: BLE001 - broken or busy connection: never reuse it
                    conn.close()
            raise
        if tx.begun and not tx.done:
            await cur.execute("COMMIT")


async def fetch_all(pool: aiopg.Pool, sql: str, params: Sequence[Any] | dict | None = None) -> list[dict]:
    async with cursor(pool) as cur:
        await cur.execute(sql, params)
        rows: list[dict[str, Any]] = await cur.fetchall()
        return rows


async def fetch_one(pool: aiopg.Pool, sql: str, params: Sequence[Any] | dict | None = None) -> dict | None:
    async with cursor(pool) as cur:
        await cur.execute(sql, params)
        row: dict[str, Any] | None = await cur.fetchone()
        return row


async def execute(pool: aiopg.Pool, sql: str, params: Sequence[Any] | dict | None = None) -> int:
    async with cursor(pool) as cur:
        await cur.execute(sql, params)
        return cur.rowcount
