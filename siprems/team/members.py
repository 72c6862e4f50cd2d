"""Members of a store. Every statement is scoped by store_id: a user of
another store answers like a missing one (404).

A role change or removal takes effect at once for tokens already issued: the
caller (`siprems.api.team`) bumps the user's token version
(`siprems.auth.revocation`) after the change commits, so the user's access
tokens stop working within about a second; a refresh then issues a token with
the new role (or fails for a removed member)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from siprems import audit
from siprems.db import fetch_all, transaction
from siprems.errors import Conflict, NotFound
from siprems.team.roles import Role

COLUMNS = "m.user_id, u.email, u.full_name, m.role, m.joined_at, m.invited_by"


MAX_ID = 2**63 - 1  # BIGINT: a larger id from the URL is simply not found


@dataclass
class Member:
    user_id: int
    email: str
    full_name: str
    role: Role
    joined_at: datetime
    invited_by: int | None


def not_a_member(user_id: int) -> NotFound:
    return NotFound(f"Member {user_id} not found", code="member_not_found")


async def add(cur, store_id: int, user_id: int, role: Role, invited_by: int | None = None) -> None:
    """Make the user a member with `role` (or set their role if they already are)."""
    await cur.execute(
        """INSERT INTO store_members (store_id, user_id, role, invited_by) VALUES (%s, %s, %s, %s)
           ON CONFLICT (store_id, user_id) DO UPDATE SET role = EXCLUDED.role""",
        (store_id, user_id, role, invited_by),
    )


async def list_members(pool, store_id: int) -> list[Member]:
    rows = await fetch_all(
        pool,
        f"""SELECT {COLUMNS} FROM store_members m JOIN users u ON u.user_id = m.user_id
             WHERE m.store_id = %s ORDER BY m.joined_at, m.user_id""",
        (store_id,),
    )
    return [Member(**row) for row in rows]


async def _lock_team(cur, store_id: int) -> dict[int, dict]:
    """The store's members, locked: concurrent role changes queue up, so the
    last-owner check cannot be raced."""
    await cur.execute(
        f"""SELECT {COLUMNS} FROM store_members m JOIN users u ON u.user_id = m.user_id
             WHERE m.store_id = %s ORDER BY m.user_id FOR UPDATE OF m""",
        (store_id,),
    )
    return {row["user_id"]: dict(row) for row in await cur.fetchall()}


@asynccontextmanager
async def _member_in_locked_team(pool, store_id: int, user_id: int) -> AsyncIterator[tuple[Any, dict[int, dict], dict]]:
    """A transaction with the store's team locked: (cursor, team, the member); 404 for a non-member."""
    if not 0 < user_id <= MAX_ID:
        raise not_a_member(user_id)
    async with transaction(pool) as cur:
        team = await _lock_team(cur, store_id)
        member = team.get(user_id)
        if member is None:
            raise not_a_member(user_id)
        yield cur, team, member


def _keep_an_owner(team: dict[int, dict], user_id: int, action: str) -> None:
    owners = [uid for uid, m in team.items() if m["role"] == "owner"]
    if owners == [user_id]:
        raise Conflict(f"Cannot {action} the store's last owner; make another member owner first.", code="last_owner")


def _audited(member: dict) -> dict:
    return {"user_id": member["user_id"], "email": member["email"], "role": member["role"]}


async def change_role(pool, store_id: int, user_id: int, role: Role, actor: int) -> tuple[Member, Member]:
    """Returns (before, after); the change is in the audit trail."""
    async with _member_in_locked_team(pool, store_id, user_id) as (cur, team, before):
        if before["role"] == "owner" and role != "owner":
            _keep_an_owner(team, user_id, "demote")
        after = {**before, "role": role}
        if role != before["role"]:
            await cur.execute(
                "UPDATE store_members SET role = %s WHERE store_id = %s AND user_id = %s", (role, store_id, user_id)
            )
            await audit.record(
                cur, store_id, actor, "member", user_id, "role_change", _audited(before), _audited(after)
            )
    return Member(**before), Member(**after)


async def remove(pool, store_id: int, user_id: int, actor: int) -> dict:
    """Remove a member; returns the member as they were. Their refresh tokens
    are revoked (they must log in again, to another store if they have one)."""
    async with _member_in_locked_team(pool, store_id, user_id) as (cur, team, before):
        _keep_an_owner(team, user_id, "remove")
        await cur.execute("DELETE FROM store_members WHERE store_id = %s AND user_id = %s", (store_id, user_id))
        await cur.execute(
            "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL", (user_id,)
        )
        # Their active store becomes another one they belong to, if any.
        await cur.execute(
            """UPDATE users u SET store_id = m.store_id, updated_at = now()
                 FROM (SELECT store_id FROM store_members WHERE user_id = %(user)s
                        ORDER BY joined_at DESC LIMIT 1) m
                WHERE u.user_id = %(user)s AND u.store_id = %(store)s""",
            {"user": user_id, "store": store_id},
        )
        await audit.record(cur, store_id, actor, "member", user_id, "remove", _audited(before), None)
    return before


async def role_in(cur, store_id: int, user_id: int) -> str | None:
    """The user's role in the store, or None when they are not a member."""
    await cur.execute("SELECT role FROM store_members WHERE store_id = %s AND user_id = %s", (store_id, user_id))
    row = await cur.fetchone()
    return row["role"] if row else None
