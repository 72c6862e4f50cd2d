"""Fixtures of the job tests, loaded with `pytest_plugins = ["support_jobs_fixtures"]`:
`procs` (worker/scheduler processes, killed at teardown), `queue` (async client
of the queue Redis), `job_test_tables` and `pg` (direct PostgreSQL connection)."""

from __future__ import annotations

import psycopg2
import psycopg2.extras
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from devtools.testing_handlers import TEST_TABLES_SQL
from support_jobs import Procs


@pytest.fixture()
def procs(stack, job_test_tables):
    p = Procs(stack)
    yield p
    p.stop_all()


@pytest_asyncio.fixture()
async def queue(stack):
    client = aioredis.Redis.from_url(stack.env()["QUEUE_REDIS_URL"], decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def job_test_tables(stack):
    conn = psycopg2.connect(stack.direct_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(TEST_TABLES_SQL)
    conn.close()


@pytest.fixture()
def pg(stack, job_test_tables):
    conn = psycopg2.connect(stack.direct_url, cursor_factory=psycopg2.extras.RealDictCursor)
    conn.autocommit = True
    yield conn
    conn.close()
