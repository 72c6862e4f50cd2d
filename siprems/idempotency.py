"""Idempotency-Key support for POST routes with an effect (checkout, sales).

The effect and the record of its response are written in ONE database
transaction, so a crash can never separate the effect from its record, and
PostgreSQL (shared by every instance) is the only source of truth:

1. Run the effect (its first statement carries the BEGIN).
2. `INSERT` the record (status and body) and COMMIT, in one round trip.
3. If the key is already recorded (or a concurrent request with the same key
   is recording it: the INSERT waits for that transaction), the primary key
   refuses the INSERT: everything rolls back and the recorded response is
   replayed. A sale is two round trips, not four (a claim first, then the
   effect, then the record).

Only successful outcomes are recorded: an effect that raises (409 stock,
404 SKU, ...) rolls back, so nothing happened and a retry with the same key
simply runs again; a refusal first checks for a recorded outcome (the earlier
request with this key may be what emptied the shelf). A key older than the TTL
is forgotten and treated as new. `purge_expired()` deletes old keys (for the
job scheduler).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg2.errors

from siprems import jsonutil
from siprems.db import execute, fetch_one, transaction
from siprems.errors import ApiError, BadRequest, Conflict, Unprocessable

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
_KEY = re.compile(r"^[\x21-\x7e]+$")  # visible ASCII, no spaces

Effect = Callable[[Any], Awaitable[tuple[int, Any]]]


@dataclass(frozen=True)
class Outcome:
    status: int
    body: Any
    replayed: bool


def key_from(headers) -> str | None:
    """The request's Idempotency-Key, validated; None when absent."""
    raw = headers.get(HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not _KEY.match(key):
        raise BadRequest(
            f"Header '{HEADER}' must be 1-{MAX_KEY_LENGTH} visible ASCII characters.", code="invalid_idempotency_key"
        )
    return key


def fingerprint(body: Any) -> str:
    """A stable hash of a parsed JSON body (key order does not matter)."""
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


# The record of a successful effect, written last in the effect's transaction.
# A key already recorded (or being recorded by a concurrent request) makes it
# fail on the primary key: the transaction rolls back and the request replays.
_RECORD = """
INSERT INTO idempotency_keys (store_id, scope, key, request_hash, status_code, response)
VALUES (%(store)s, %(scope)s, %(key)s, %(hash)s, %(status)s, %(response)s::jsonb)
"""

_RECORDED = """
SELECT request_hash, status_code, response, created_at < now() - make_interval(secs => %(ttl)s) AS expired
  FROM idempotency_keys
 WHERE store_id = %(store)s AND scope = %(scope)s AND key = %(key)s
"""

_FORGET_EXPIRED = """
DELETE FROM idempotency_keys
 WHERE store_id = %(store)s AND scope = %(scope)s AND key = %(key)s
   AND created_at < now() - make_interval(secs => %(ttl)s)
"""

_PRIMARY_KEY = "idempotency_keys_pkey"


async def run_once(
    pool, *, store_id: int, scope: str, key: str | None, request_hash: str, ttl_seconds: int, effect: Effect
) -> Outcome:
    """Apply `effect(cursor) -> (status, body)` at most once per key.

    Without a key the effect simply runs in its own transaction.
    """
    params = {"store": store_id, "scope": scope, "key": key, "hash": request_hash, "ttl": ttl_seconds}
    for _ in range(3):  # a run, and again after an expired record was forgotten
        try:
            async with transaction(pool) as cur:
                try:
                    status, body = await effect(cur)
                except ApiError as refused:
                    raise _Refused(refused) from refused
                if key is None:
                    return Outcome(status, body, replayed=False)
                # Recorded and committed in one round trip.
                await cur.execute_and_commit(
                    _RECORD, {**params, "status": status, "response": jsonutil.dumps_str(body)}
                )
            return Outcome(status, body, replayed=False)
        except _Refused as refused:
            # A refusal (409 stock, 404 SKU, ...) is recorded nowhere; but an earlier
            # request with this key may have succeeded (and caused this refusal).
            outcome = await _replay(pool, params) if key is not None else None
            if outcome is None:
                raise refused.error from None
            return outcome
        except psycopg2.errors.UniqueViolation as exc:
            if exc.diag.constraint_name != _PRIMARY_KEY:
                raise
        outcome = await _replay(pool, params)
        if outcome is not None:
            return outcome
    raise Conflict(f"This {HEADER} is being recycled; please retry.", code="idempotency_key_busy")


class _Refused(Exception):
    def __init__(self, error: ApiError) -> None:
        self.error = error


async def _replay(pool, params: dict) -> Outcome | None:
    """The recorded outcome of the key; None when there is none (an expired one is forgotten)."""
    row = await fetch_one(pool, _RECORDED, params)
    if row is None:
        return None
    if row["expired"]:
        await execute(pool, _FORGET_EXPIRED, params)
        return None
    if row["request_hash"] != params["hash"]:
        raise Unprocessable(
            f"This {HEADER} was already used with a different request body; use a new key for a new request.",
            code="idempotency_key_reused",
        )
    return Outcome(row["status_code"], row["response"], replayed=True)


_PURGE = """
DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM idempotency_keys
     WHERE created_at < now() - make_interval(secs => %(ttl)s)
     LIMIT %(batch)s))
"""


async def purge_expired(pool, ttl_seconds: int, *, batch: int = 5000) -> int:
    """Delete keys older than the TTL in short batches; returns how many."""
    total = 0
    while True:
        async with transaction(pool) as cur:
            await cur.execute(_PURGE, {"ttl": ttl_seconds, "batch": batch})
            deleted = cur.rowcount
        total += deleted
        if deleted < batch:
            return total
