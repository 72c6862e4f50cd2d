"""Access-token revocation without a database query per request.

Two checks, both answered from the QUEUE Redis (noeviction, AOF: a revocation
must never be evicted like a cache entry) and cached in process for at most
`LOCAL_SECONDS`, so a revocation takes effect on every instance within about a
second:

- a per-user token version. Every access token carries the version current when
  it was issued (`ver`); `bump_user_version` moves the user's version past every
  token issued so far (password change; role change or removal from a store).
  Versions are epoch milliseconds, so a bump after a Redis wipe still lands
  above every earlier token.
- a per-session mark. Every access token names its session (`sid`, the refresh
  family); `revoke_session` marks it revoked for as long as its access tokens
  can live (logout).

Both are checked per (user, session) once, then answered from process memory
for as long as the revocation epoch (a counter every revocation bumps) has not
moved: a worker reads that one counter at most every `LOCAL_SECONDS`, so a
request costs no Redis round trip unless a revocation happened (an MGET per
user and session per epoch used to be paid by almost every request).

API for other modules: `current_version` (when issuing a token),
`bump_user_version`, `revoke_session`, `is_revoked`.

If the queue Redis cannot be reached, `is_revoked` answers from its last known
value (or "not revoked") instead of failing every request: an outage of the
queue must not take down the API; revocation resumes when Redis is back.
"""

from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError

from siprems import keys

log = logging.getLogger("siprems.auth.revocation")

LOCAL_SECONDS = 1.0  # how stale a worker's view of a revocation may be
BACKOFF_SECONDS = 1.0  # after a Redis error, skip Redis this long (no timeout per request)
_MAX_ENTRIES = 50_000

# (user_id, session) -> (user_version, session_revoked), valid while the epoch holds
_seen: dict[tuple[int, str], tuple[int, bool]] = {}
_redis_down_until = 0.0
_epoch: bytes | None = None
_epoch_fresh_until = 0.0

# The new version is max(old + 1, now in ms): strictly above every token issued before.
# KEYS[2]: the revocation epoch.
_BUMP = """
local old = tonumber(redis.call('GET', KEYS[1]) or '0')
local new = math.max(old + 1, tonumber(ARGV[1]))
redis.call('SET', KEYS[1], new)
redis.call('INCR', KEYS[2])
return new
"""


async def current_version(queue, user_id: int) -> int:
    """The version to put in a new access token (`ver`)."""
    value = await queue.get(keys.auth_user_version(user_id))
    return int(value or 0)


async def bump_user_version(queue, user_id: int) -> int:
    """Revoke every access token of the user issued so far; returns the new version
    (tokens issued from now on carry it and stay valid)."""
    version = int(
        await queue.eval(
            _BUMP, 2, keys.auth_user_version(user_id), keys.auth_revocation_epoch(), int(time.time() * 1000)
        )
    )
    _seen.clear()  # this worker sees its own revocation at once
    return version


async def revoke_session(queue, session: str, lifetime_seconds: int) -> None:
    """Revoke every access token of one session (refresh family). `lifetime_seconds`:
    the access-token lifetime; after it those tokens have expired anyway."""
    if not session:
        return
    async with queue.pipeline(transaction=True) as pipe:
        pipe.set(keys.auth_revoked_session(session), 1, ex=lifetime_seconds + 60)
        pipe.incr(keys.auth_revocation_epoch())
        await pipe.execute()
    _seen.clear()


async def is_revoked(queue, user_id: int, session: str, version: int) -> bool:
    """Whether an access token with these claims (`user_id`, `sid`, `ver`) is revoked."""
    global _redis_down_until, _epoch, _epoch_fresh_until
    now = time.monotonic()
    key = (user_id, session)
    if now < _redis_down_until:
        return _answer(_seen.get(key), version)
    try:
        if now >= _epoch_fresh_until:
            epoch = await queue.get(keys.auth_revocation_epoch())
            _epoch_fresh_until = now + LOCAL_SECONDS
            if epoch != _epoch:  # something was revoked (or Redis was wiped): ask again
                _epoch = epoch
                _seen.clear()
        known = _seen.get(key)
        if known is None:
            user_version, session_mark = await queue.mget(
                keys.auth_user_version(user_id), keys.auth_revoked_session(session or "-")
            )
            if len(_seen) >= _MAX_ENTRIES:
                _seen.clear()
            known = _seen[key] = (int(user_version or 0), bool(session and session_mark))
    except RedisError as exc:
        _redis_down_until = now + BACKOFF_SECONDS
        log.warning("revocation check skipped, queue Redis unavailable: %s", exc)
        return _answer(_seen.get(key), version)
    return _answer(known, version)


def _answer(known: tuple[int, bool] | None, version: int) -> bool:
    if known is None:
        return False
    user_version, session_revoked = known
    return session_revoked or version < user_version
