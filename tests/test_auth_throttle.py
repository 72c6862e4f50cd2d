"""Per-account login back-off: failures counted per e-mail address whatever
address they come from, growing lock times answered 429 JSON with Retry-After,
and the right password still logs in once the back-off has passed."""

from __future__ import annotations

import itertools
import time
import uuid

import httpx

from siprems.auth import throttle

_addresses = itertools.count(1)


class _Attacker:
    """Logins sent straight to both API instances, each from a new client address."""

    def __init__(self, stack):
        self.clients = [httpx.Client(base_url=f"http://127.0.0.1:{p}", timeout=30) for p in stack.ports.api]
        self.turn = itertools.cycle(self.clients)

    def login(self, email: str, password: str) -> httpx.Response:
        address = f"198.51.100.{next(_addresses) % 250 + 1}"  # documentation range, a header only
        return next(self.turn).post(
            "/api/auth/login", json={"email": email, "password": password}, headers={"X-Forwarded-For": address}
        )

    def close(self):
        for c in self.clients:
            c.close()


def _fail_until_locked(attacker: _Attacker, email: str) -> tuple[int, httpx.Response]:
    """Wrong passwords until one answers 429; returns the 401s before it and the 429."""
    for unlocked in range(30):
        r = attacker.login(email, "Wrong-Guess-77")
        if r.status_code == 429:
            return unlocked, r
        assert r.status_code == 401, r.text
    raise AssertionError("never locked")


def _wait_out(r: httpx.Response) -> None:
    time.sleep(float(r.headers["Retry-After"]))


def test_backoff_grows_across_addresses_and_the_owner_still_gets_in(stack, user):
    attacker = _Attacker(stack)
    try:
        first_401s, locked = _fail_until_locked(attacker, user.email)
        assert first_401s >= throttle.FREE_FAILURES + 1  # the free failures, then the one that locks
        assert locked.json()["error"] == "login_locked" and isinstance(locked.json()["message"], str)
        assert locked.headers["content-type"].startswith("application/json")
        lock_times = [int(locked.headers["Retry-After"])]
        while lock_times[-1] < 4:  # each further failure doubles the lock
            _wait_out(locked)
            _, locked = _fail_until_locked(attacker, user.email)
            lock_times.append(int(locked.headers["Retry-After"]))
        assert lock_times == sorted(lock_times) and lock_times[-1] > lock_times[0]
        # While locked even the right password is refused (no guessing during the lock)...
        during = attacker.login(user.email, user.password)
        assert during.status_code == 429 and int(during.headers["Retry-After"]) >= 1
        # ...and once the back-off has passed, it logs in, and the count starts again.
        deadline = time.monotonic() + lock_times[-1] + 15
        r = attacker.login(user.email, user.password)
        while r.status_code == 429 and time.monotonic() < deadline:
            _wait_out(r)
            r = attacker.login(user.email, user.password)
        assert r.status_code == 200, r.text
        assert attacker.login(user.email, "Wrong-Guess-77").status_code == 401
    finally:
        attacker.close()


def test_unknown_addresses_are_throttled_like_known_ones(stack):
    attacker = _Attacker(stack)
    try:
        first_401s, locked = _fail_until_locked(attacker, f"nobody-{uuid.uuid4().hex[:8]}@example.com")
        assert first_401s >= throttle.FREE_FAILURES + 1 and locked.json()["error"] == "login_locked"
    finally:
        attacker.close()


def test_other_accounts_are_not_slowed(client, stack, make_user):
    victim, bystander = make_user(), make_user()
    attacker = _Attacker(stack)
    try:
        _fail_until_locked(attacker, victim.email)
        r = client.post("/api/auth/login", json={"email": bystander.email, "password": bystander.password})
        assert r.status_code == 200
    finally:
        attacker.close()
