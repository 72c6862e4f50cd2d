"""Access-token revocation: logout (with or without a body) ends the session's
access tokens, a password change ends all of the user's, within seconds on every
API instance and worker; other sessions and new tokens keep working."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
import redis.asyncio as aioredis

from siprems import keys
from siprems.auth import revocation

EFFECT_SECONDS = 10.0  # generous under a loaded machine; the design target is ~1 s
PROBES = 12  # requests per instance: reaches both workers of each


def _instances(stack) -> list[str]:
    return [f"http://127.0.0.1:{port}" for port in stack.ports.api]


def _profile_statuses(stack, token: str) -> set[int]:
    # A new connection per probe: the kernel spreads them over every worker of the
    # instance (one kept-alive connection would only ever ask one worker).
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
    seen = set()
    for url in _instances(stack):
        with httpx.Client(base_url=url, timeout=10, headers=headers) as c:
            seen |= {c.get("/api/auth/profile").status_code for _ in range(PROBES)}
    return seen


def _wait_for_statuses(stack, token: str, expected: set[int]) -> float:
    """Seconds until every instance and worker answers `expected` for the token."""
    started = time.monotonic()
    while time.monotonic() - started < EFFECT_SECONDS:
        if _profile_statuses(stack, token) == expected:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"token still answers {_profile_statuses(stack, token)} after {EFFECT_SECONDS}s")


def _login(client, user) -> dict:
    r = client.post("/api/auth/login", json={"email": user.email, "password": user.password})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("with_body", [False, True])
def test_logout_revokes_the_sessions_access_tokens(client, stack, user, with_body):
    other = _login(client, user)
    assert _profile_statuses(stack, user.access_token) == {200}
    r = user.post("/api/auth/logout", **({"json": {"refresh_token": user.refresh_token}} if with_body else {}))
    assert r.status_code == 200
    _wait_for_statuses(stack, user.access_token, {401})
    after = client.get("/api/auth/profile", headers=user.headers)
    assert after.json()["error"] == "token_revoked"
    # The session's refresh token is gone too, body or not; the other session lives on.
    assert client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token}).status_code == 401
    assert _profile_statuses(stack, other["access_token"]) == {200}
    assert client.post("/api/auth/refresh", json={"refresh_token": other["refresh_token"]}).status_code == 200


def test_logout_revokes_the_access_tokens_of_later_rotations(client, stack, user):
    rotated = client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token}).json()
    assert user.post("/api/auth/logout").status_code == 200
    _wait_for_statuses(stack, rotated["access_token"], {401})


def test_change_password_revokes_every_access_token_of_the_user(client, stack, user):
    other = _login(client, user)
    r = user.post("/api/auth/change-password", json={"old_password": user.password, "new_password": "Kx9!plumtree"})
    assert r.status_code == 200, r.text
    fresh = r.json()["access_token"]
    _wait_for_statuses(stack, user.access_token, {401})
    _wait_for_statuses(stack, other["access_token"], {401})
    assert _profile_statuses(stack, fresh) == {200}


def test_another_users_revocation_leaves_a_token_alone(client, stack, make_user):
    a, b = make_user(), make_user()
    assert a.post("/api/auth/logout").status_code == 200
    _wait_for_statuses(stack, a.access_token, {401})
    assert _profile_statuses(stack, b.access_token) == {200}


# -- the module itself, against the real queue Redis --------------------------------------------


def _run(stack, check):
    async def main():
        queue = aioredis.from_url(f"redis://127.0.0.1:{stack.ports.queue}/0")
        try:
            await check(queue)
        finally:
            await queue.aclose()

    asyncio.run(main())


def test_versions_and_sessions(stack):
    user_id = 900_000_000 + uuid.uuid4().int % 1_000_000
    session = uuid.uuid4().hex

    async def check(queue):
        old = await revocation.current_version(queue, user_id)
        assert not await revocation.is_revoked(queue, user_id, session, old)
        new = await revocation.bump_user_version(queue, user_id)
        assert new > old and new >= int(time.time() * 1000) - 5000  # epoch ms: above any pre-wipe version
        assert await revocation.is_revoked(queue, user_id, session, old)
        assert not await revocation.is_revoked(queue, user_id, session, new)
        assert await revocation.bump_user_version(queue, user_id) > new  # strictly increasing
        newest = await revocation.current_version(queue, user_id)
        await revocation.revoke_session(queue, session, 60)
        assert await revocation.is_revoked(queue, user_id, session, newest)
        assert not await revocation.is_revoked(queue, user_id, "another-session", newest)
        assert 0 < await queue.ttl(f"siprems:auth:revoked:{session}") <= 120

    _run(stack, check)


def test_a_queue_outage_does_not_fail_the_check(stack):
    async def check(_queue):
        dead = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
        try:
            revocation._seen.clear()
            assert not await revocation.is_revoked(dead, 1, "s", 0)
        finally:
            await dead.aclose()
            revocation._redis_down_until = 0.0

    _run(stack, check)


def test_checks_cost_no_round_trip_until_something_is_revoked(stack):
    """The hot path: answered from process memory while the revocation epoch holds;
    a revocation made elsewhere (another instance) is seen within LOCAL_SECONDS."""

    async def check(queue):
        revocation._seen.clear()
        assert not await revocation.is_revoked(queue, 7007, "s7", 0)  # first sight: one MGET
        before = (await queue.info("stats"))["total_commands_processed"]
        for _ in range(50):
            assert not await revocation.is_revoked(queue, 7007, "s7", 0)
        after = (await queue.info("stats"))["total_commands_processed"]
        assert after - before <= 3, after - before  # the INFO calls and at most one epoch read
        # Another instance bumps the user's version (not this process: nothing cleared here).
        await queue.eval(
            revocation._BUMP, 2, keys.auth_user_version(7007), keys.auth_revocation_epoch(), int(time.time() * 1000)
        )
        deadline = time.monotonic() + revocation.LOCAL_SECONDS + 5
        while not await revocation.is_revoked(queue, 7007, "s7", 0):
            assert time.monotonic() < deadline, "a revocation elsewhere was not seen"
            await asyncio.sleep(0.05)

    _run(stack, check)
