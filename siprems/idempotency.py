"""Idempotency-Key support for POST routes with an effect (checkout, sales).

The key is claimed, the effect applied and the response recorded in ONE
database transaction, so a crash can never separate the effect from its
record, and PostgreSQL (shared by every instance) is the only source of truth:

1. `INSERT` a row for (store, scope, key) before anything else. A concurrent
   request with the same key blocks on that primary key until the first one
   commits (it then finds the row and replays it) or rolls back (it then owns
   the key and runs the effect itself).
2. Run the effect on the same cursor.
3. Store the status and body, then commit.

Only successful outcomes are recorded: an effect that raises (409 stock,
404 SKU, ...) rolls back the claim with everything else, so nothing happened
and a retry with the same key simply runs again. A key older than the TTL is
treated as new. `purge_expired()` deletes old keys (for the job scheduler).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from siprems import jsonutil
from siprems.db import transaction
from siprems.errors import BadRequest, Conflict, Unprocessable

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


_CLAIM = """
INSERT INTO idempotency_keys (store_id, scope, key, request_hash, status_code, response)
VALUES (%(store)s, %(scope)s, %(key)s, %(hash)s, 0, 'null'::jsonb)
ON CONFLICT (store_id, scope, key) DO UPDATE
   SET request_hash = EXCLUDED.request_hash, status_code = 0, response = 'null'::jsonb, created_at = now()
 WHERE idempotency_keys.created_at < now() - make_interval(secs => %(ttl)s)
RETURNING 1
"""

_RECORDED = """
SELECT request_hash, status_code, response FROM idempotency_keys
 WHERE store_id = %(store)s AND scope = %(scope)s AND key = %(key)s
"""

_RECORD = """
UPDATE idempotency_keys SET status_code = %(status)s, response = %(response)s::jsonb
 WHERE store_id = %(store)s AND scope = %(scope)s AND key = %(key)s
"""


async def run_once(
    pool, *, store_id: int, scope: str, key: str | None, request_hash: str, ttl_seconds: int, effect: Effect
) -> Outcome:
    """Apply `effect(cursor) -> (status, body)` at most once per key.

    Without a key the effect simply runs in its own transaction.
    """
    params = {"store": store_id, "scope": scope, "key": key, "hash": request_hash, "ttl": ttl_seconds}
    async with transaction(pool) as cur:
        if key is not None:
            await cur.execute(_CLAIM, params)
            if await cur.fetchone() is None:
                return await _replay(cur, params)
        status, body = await effect(cur)
        if key is not None:  # recorded and committed in one round trip
            await cur.execute_and_commit(_RECORD, {**params, "status": status, "response": jsonutil.dumps_str(body)})
    return Outcome(status, body, replayed=False)


async def _replay(cur, params: dict) -> Outcome:
    await cur.execute(_RECORDED, params)
    row = await cur.fetchone()
    if row is None:  # purged between the claim and this read: vanishingly rare
        raise Conflict(f"This {HEADER} is being recycled; please retry.", code="idempotency_key_busy")
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
