"""Session fixtures: one real stack (PostgreSQL, pgbouncer, two Redis servers,
two API instances with two workers each, HAProxy), every service on a free
loopback port in a temporary folder. Tests talk HTTP through HAProxy."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import httpx
import psycopg2
import psycopg2.extras
import pytest

from siprems.devtools.stack import Stack

_counter = itertools.count()


@pytest.fixture(scope="session")
def stack():
    # Every test registers users from 127.0.0.1: the shared stack's HAProxy gets
    # generous limits. Rate limiting itself is tested on an extra HAProxy with
    # the real limits (tests/test_topology_*.py).
    for name in ("RATE_GENERAL", "RATE_CHAT", "RATE_PREDICT"):
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


class User:
    """A registered, logged-in user with their own store."""

    def __init__(self, base_url: str, email: str, password: str, login: dict):
        self.email = email
        self.password = password
        self.user_id = login["user_id"]
        self.access_token = login["access_token"]
        self.refresh_token = login["refresh_token"]
        self.headers = {"Authorization": f"Bearer {self.access_token}"}
        self.client = httpx.Client(base_url=base_url, timeout=30, headers=self.headers)

    def get(self, *a, **kw):
        return self.client.get(*a, **kw)

    def post(self, *a, **kw):
        return self.client.post(*a, **kw)

    def put(self, *a, **kw):
        return self.client.put(*a, **kw)

    def patch(self, *a, **kw):
        return self.client.patch(*a, **kw)

    def delete(self, *a, **kw):
        return self.client.delete(*a, **kw)


@pytest.fixture()
def make_user(base_url):
    """Factory: register and log in a fresh user (and store) through HAProxy."""
    created: list[User] = []

    def _make(full_name: str = "Test Owner") -> User:
        email = f"user{next(_counter)}-{uuid.uuid4().hex[:8]}@example.com"
        password = "Secret123"
        with httpx.Client(base_url=base_url, timeout=30) as c:
            r = c.post("/api/auth/register", json={"email": email, "password": password, "full_name": full_name})
            assert r.status_code == 201, r.text
            r = c.post("/api/auth/login", json={"email": email, "password": password})
            assert r.status_code == 200, r.text
        user = User(base_url, email, password, r.json())
        created.append(user)
        return user

    yield _make
    for user in created:
        user.client.close()


@pytest.fixture()
def user(make_user) -> User:
    return make_user()
