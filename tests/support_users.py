"""Registered, logged-in users for tests (shared by conftest and the helpers)."""

from __future__ import annotations

import time
import uuid

import httpx


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


def register(base_url: str, *, prefix: str = "user", full_name: str = "Test Owner") -> User:
    """Register and log in a fresh user (and store); waits out a 429 from
    HAProxy's per-address limit instead of failing."""
    email, password = f"{prefix}-{uuid.uuid4().hex[:12]}@example.com", "Quiet-Harbor-42"
    with httpx.Client(base_url=base_url, timeout=30) as c:
        for path, body, expected in (
            ("/api/auth/register", {"email": email, "password": password, "full_name": full_name}, 201),
            ("/api/auth/login", {"email": email, "password": password}, 200),
        ):
            deadline = time.monotonic() + 30
            r = c.post(path, json=body)
            while r.status_code == 429 and time.monotonic() < deadline:
                time.sleep(float(r.headers.get("retry-after", "1")))
                r = c.post(path, json=body)
            assert r.status_code == expected, r.text
    return User(base_url, email, password, r.json())
