"""Per-account login back-off: consecutive failed logins for one e-mail address,
counted in the cache Redis whatever address they come from (HAProxy limits per
address; this limits per account).

The first `FREE_FAILURES` failures cost nothing; each later one locks the
account's logins for a doubling time (1 s, 2 s, 4 s, ... at most `MAX_LOCK`).
While locked, every login for the address answers 429 with Retry-After, before
the password is checked, so guessing gets exponentially slower. A lock is never
permanent: once it has passed, the right password logs in (and clears the
counter), so an attacker cannot lock the owner out for longer than the last
back-off. Unknown addresses are counted exactly like known ones (no oracle).

If Redis is unavailable logins go on unthrottled (HAProxy's per-address limit
still holds): an outage must not lock every user out.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from redis.exceptions import RedisError

from siprems import keys
from siprems.errors import TooManyRequests

log = logging.getLogger("siprems.auth.throttle")

FREE_FAILURES = 5
FIRST_LOCK = 1.0  # seconds, doubled for each failure past FREE_FAILURES
MAX_LOCK = 900.0
FORGET_AFTER = 3600  # seconds without a failure before the count starts again

# KEYS[1]: the account's hash {failures, locked_until}; ARGV: now, free, first, max, ttl.
_FAIL = """
local n = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local over = n - tonumber(ARGV[2])
local until_ts = 0
if over > 0 then
  until_ts = tonumber(ARGV[1]) + math.min(tonumber(ARGV[3]) * 2 ^ (over - 1), tonumber(ARGV[4]))
  redis.call('HSET', KEYS[1], 'locked_until', tostring(until_ts))
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
return tostring(until_ts)
"""


def _key(email: str) -> str:
    return keys.login_failures(hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32])


def _locked(retry_after: float) -> TooManyRequests:
    seconds = max(1, math.ceil(retry_after))
    return TooManyRequests(
        f"Too many failed logins for this account; try again in {seconds} s.",
        code="login_locked",
        headers={"Retry-After": str(seconds)},
        extra={"retry_after": seconds},
    )


async def check(redis, email: str) -> None:
    """Raise 429 while the account's logins are locked."""
    try:
        locked_until = await redis.hget(_key(email), "locked_until")
    except RedisError as exc:
        log.warning("login throttle skipped, Redis unavailable: %s", exc)
        return
    remaining = float(locked_until or 0) - time.time()
    if remaining > 0:
        raise _locked(remaining)


async def failed(redis, email: str) -> None:
    """Count a failed login; the next attempt may be locked."""
    try:
        await redis.eval(_FAIL, 1, _key(email), time.time(), FREE_FAILURES, FIRST_LOCK, MAX_LOCK, FORGET_AFTER)
    except RedisError as exc:
        log.warning("login failure not counted, Redis unavailable: %s", exc)


async def succeeded(redis, email: str) -> None:
    try:
        await redis.delete(_key(email))
    except RedisError as exc:
        log.warning("login failures not cleared, Redis unavailable: %s", exc)
