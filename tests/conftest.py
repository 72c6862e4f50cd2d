"""Session fixtures: one real stack (PostgreSQL, pgbouncer, two Redis servers,
two API instances with two workers each, HAProxy), every service on a free
loopback port in a temporary folder. Tests talk HTTP through HAProxy."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import httpx
import psycopg2
import psycopg2.extras
import pytest

import siprems.api  # noqa: F401 - see below
from devtools.stack import Stack
from siprems import jobtypes
from support_users import User, register

# The response schemas are generated when siprems.api is imported (pydantic reads each response
# class's source for its attribute docstrings, i.e. ast.parse). On CPython 3.11.7 that parse can
# fail with "SystemError: AST constructor recursion depth mismatch" when it first runs deep in a
# test's call stack (seen once in a clean CI run, in tests/test_cors.py building the app); importing
# the API here, at a shallow stack, does it once before any test.

jobtypes.install()  # tests enqueue jobs in-process, as the API does


@pytest.fixture(scope="session")
def stack():
    # Every test registers users from 127.0.0.1: the shared stack's HAProxy gets
    # generous limits. Rate limiting itself is tested on an extra HAProxy with
    # the real limits (tests/test_topology_*.py).
    for name in ("RATE_GENERAL", "RATE_CHAT", "RATE_PREDICT", "RATE_AUTH"):
        os.environ.setdefault(name, "100000")
    root = Path(tempfile.mkdtemp(prefix="siprems-test-"))
    s = Stack(root=root, fast_unsafe_postgres=True)
    try:
        s.start_all()
        yield s
    finally:
        s.stop_all()
        if os.environ.get("KEEP_TEST_STACK") != "1":
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def base_url(stack) -> str:
    return stack.base_url


@pytest.fixture()
def client(base_url):
    with httpx.Client(base_url=base_url, timeout=30) as c:
        yield c


@pytest.fixture()
def db(stack):
    """A direct connection to PostgreSQL for assertions (autocommit, dict rows)."""
    conn = psycopg2.connect(stack.direct_url, cursor_factory=psycopg2.extras.RealDictCursor)
    conn.autocommit = True
    yield conn
    conn.close()


@pytest.fixture()
def make_user(base_url):
    """Factory: register and log in a fresh user (and store) through HAProxy."""
    created: list[User] = []

    def _make(full_name: str = "Test Owner") -> User:
        user = register(base_url, full_name=full_name)
        created.append(user)
        return user

    yield _make
    for user in created:
        user.client.close()


@pytest.fixture(scope="module")
def shared_user(base_url):
    """One user per module for read-only and rejected-input cases (fewer registrations)."""
    u = register(base_url, full_name="Shop Owner")
    yield u
    u.client.close()


@pytest.fixture()
def user(make_user) -> User:
    return make_user()
