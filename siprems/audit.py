"""The audit trail: who changed what and when, with the values before and
after (products: prices, archive, delete and every other field; settings;
events; team members, roles and invitations).

`record(cur, ...)` writes one entry inside the caller's transaction, so an
entry exists exactly when its change committed. The table is append-only: a
trigger refuses UPDATE, DELETE and TRUNCATE (migration 0032), and nothing in
the API writes it other than through `record`. No Sanic imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from siprems import jsonutil
from siprems.db import fetch_all
from siprems.pages import Page

ENTITIES = ("product", "settings", "event", "member", "invitation")

_INSERT = """INSERT INTO audit_log (store_id, user_id, user_email, entity, entity_id, action, before, after)
             VALUES (%(store)s, %(user)s, (SELECT email FROM users WHERE user_id = %(user)s), %(entity)s,
                     %(entity_id)s, %(action)s, %(before)s::jsonb, %(after)s::jsonb)"""


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return jsonutil.dumps_str(_plain(value))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


_TIMESTAMPS = ("created_at", "updated_at")  # the entry has its own time


def changed(before: dict | None, after: dict | None) -> tuple[dict | None, dict | None]:
    """Only the fields that differ (both sides), for an update's entry."""
    if before is None or after is None:
        return before, after
    keys = [k for k in after if k in before and k not in _TIMESTAMPS and _plain(before[k]) != _plain(after[k])]
    return {k: before[k] for k in keys}, {k: after[k] for k in keys}


def statement(
    store_id: int, user_id: int | None, entity: str, entity_id: Any, action: str, before: Any, after: Any
) -> tuple[str, dict]:
    """The INSERT and its parameters, for a caller that sends it with other
    statements (e.g. together with its COMMIT)."""
    if entity not in ENTITIES:
        raise ValueError(f"unknown audit entity {entity!r}")
    return _INSERT, {
        "store": store_id,
        "user": user_id,
        "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id),
        "action": action,
        "before": _json(before),
        "after": _json(after),
    }


async def record(
    cur, store_id: int, user_id: int | None, entity: str, entity_id: Any, action: str, before: Any, after: Any
) -> None:
    """Append one entry inside the caller's transaction (`cur`)."""
    sql, params = statement(store_id, user_id, entity, entity_id, action, before, after)
    await cur.execute(sql, params)


@dataclass(frozen=True)
class AuditQuery:
    entity: str | None = None
    entity_id: str | None = None
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive
    limit: int = 100
    offset: int = 0


@dataclass
class Entry:
    audit_id: int
    entity: str
    entity_id: str | None
    action: str
    user_id: int | None
    user_email: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: datetime


async def list_entries(pool, store_id: int, q: AuditQuery) -> Page[Entry]:
    """Newest first."""
    where = ["store_id = %(store)s"]
    args: dict = {"store": store_id, "limit": q.limit, "offset": q.offset}
    for name, sql in (
        ("entity", "entity = %(entity)s"),
        ("entity_id", "entity_id = %(entity_id)s"),
        ("start", "created_at >= %(start)s"),
        ("end", "created_at < %(end)s"),
    ):
        value = getattr(q, name)
        if value is not None:
            where.append(sql)
            args[name] = value
    rows = await fetch_all(
        pool,
        f"""SELECT audit_id, entity, entity_id, action, user_id, user_email, before, after, created_at,
                   count(*) OVER () AS total_count
              FROM audit_log WHERE {" AND ".join(where)}
             ORDER BY created_at DESC, audit_id DESC LIMIT %(limit)s OFFSET %(offset)s""",
        args,
    )
    total = rows[0]["total_count"] if rows else 0
    if not rows and q.offset:
        count = await fetch_all(pool, f"SELECT count(*) AS n FROM audit_log WHERE {' AND '.join(where)}", args)
        total = count[0]["n"]
    for row in rows:
        row.pop("total_count")
    return Page([Entry(**row) for row in rows], total, q.limit, q.offset)
