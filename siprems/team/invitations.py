"""Invitations to join a store with a role: a random single-use token (only
its SHA-256 is stored) that expires after `VALID_DAYS`. Registering with the
token, or accepting it as a logged-in user, joins the store; the token then
never works again."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Literal

from siprems import audit
from siprems.db import fetch_all, transaction
from siprems.errors import ApiError, Forbidden, NotFound
from siprems.jsonutil import DOCUMENTED
from siprems.team import members
from siprems.team.roles import Role

VALID_DAYS = 7
COLUMNS = "invitation_id, email, role, invited_by, created_at, expires_at, accepted_at, accepted_by, revoked_at"


Status = Literal["pending", "accepted", "revoked", "expired"]


@dataclass
class Invitation:
    invitation_id: int
    email: str
    role: Role
    invited_by: int | None
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    accepted_by: int | None
    revoked_at: datetime | None
    status: Status


@dataclass
class NewInvitation(Invitation):
    __pydantic_config__ = DOCUMENTED

    token: str
    """Single use; shown only in this answer"""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def status(row: dict) -> Status:
    if row["accepted_at"] is not None:
        return "accepted"
    if row["revoked_at"] is not None:
        return "revoked"
    return "expired" if row["expired"] else "pending"


def present(row: dict) -> Invitation:
    return Invitation(**{k: row[k] for k in COLUMNS.split(", ")}, status=status(row))


async def create(pool, store_id: int, email: str, role: Role, invited_by: int) -> NewInvitation:
    """A new invitation; the answer holds the token (shown only this once)."""
    token = secrets.token_urlsafe(32)
    async with transaction(pool) as cur:
        await cur.execute(
            f"""INSERT INTO invitations (store_id, email, role, token_hash, invited_by, expires_at)
                VALUES (%s, lower(%s), %s, %s, %s, now() + %s) RETURNING {COLUMNS}, FALSE AS expired""",
            (store_id, email, role, _hash(token), invited_by, timedelta(days=VALID_DAYS)),
        )
        row = present(await cur.fetchone())
        await audit.record(
            cur,
            store_id,
            invited_by,
            "invitation",
            row.invitation_id,
            "create",
            None,
            {"email": email, "role": role},
        )
    return NewInvitation(**asdict(row), token=token)


async def list_invitations(pool, store_id: int, include_closed: bool = False) -> list[Invitation]:
    where = "" if include_closed else "AND accepted_at IS NULL AND revoked_at IS NULL"
    rows = await fetch_all(
        pool,
        f"""SELECT {COLUMNS}, expires_at <= now() AS expired FROM invitations
             WHERE store_id = %s {where} ORDER BY created_at DESC, invitation_id DESC""",
        (store_id,),
    )
    return [present(row) for row in rows]


async def revoke(pool, store_id: int, invitation_id: int, actor: int) -> Invitation:
    if not 0 < invitation_id <= members.MAX_ID:
        raise NotFound(f"Invitation {invitation_id} not found", code="invitation_not_found")
    async with transaction(pool) as cur:
        await cur.execute(
            f"""UPDATE invitations SET revoked_at = now()
                 WHERE store_id = %s AND invitation_id = %s AND accepted_at IS NULL AND revoked_at IS NULL
                RETURNING {COLUMNS}, expires_at <= now() AS expired""",
            (store_id, invitation_id),
        )
        row = await cur.fetchone()
        if row is None:
            raise NotFound(f"Invitation {invitation_id} not found (or not open)", code="invitation_not_found")
        invitation = present(row)
        await audit.record(
            cur,
            store_id,
            actor,
            "invitation",
            invitation_id,
            "revoke",
            {"email": invitation.email, "role": invitation.role},
            None,
        )
    return invitation


async def claim(cur, token: str, email: str) -> dict:
    """Inside the caller's transaction: lock the invitation, check that it is
    usable by `email` and mark it accepted; then `join` makes the user a
    member. Returns store_id, role, invitation_id, invited_by."""
    await cur.execute(
        f"""SELECT store_id, {COLUMNS}, expires_at <= now() AS expired FROM invitations
             WHERE token_hash = %s FOR UPDATE""",
        (_hash(token),),
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound("Invitation not found: the token is wrong.", code="invitation_not_found")
    state = status(row)
    if state == "accepted":
        raise ApiError("This invitation has already been used.", status=409, code="invitation_used")
    if state == "revoked":
        raise ApiError("This invitation was withdrawn.", status=409, code="invitation_revoked")
    if state == "expired":
        raise ApiError("This invitation has expired; ask for a new one.", status=410, code="invitation_expired")
    if row["email"].lower() != email.lower():
        raise Forbidden("This invitation is for another email address.", code="invitation_email_mismatch")
    await cur.execute("UPDATE invitations SET accepted_at = now() WHERE invitation_id = %s", (row["invitation_id"],))
    return {k: row[k] for k in ("store_id", "role", "invitation_id", "invited_by")}


async def join(cur, invite: dict, user_id: int, email: str) -> None:
    """Make the user a member of the claimed invitation's store with its role;
    that store becomes the user's active one."""
    await cur.execute(
        "UPDATE invitations SET accepted_by = %s WHERE invitation_id = %s", (user_id, invite["invitation_id"])
    )
    await members.add(cur, invite["store_id"], user_id, invite["role"], invite["invited_by"])
    await cur.execute(
        "UPDATE users SET store_id = %s, updated_at = now() WHERE user_id = %s", (invite["store_id"], user_id)
    )
    joined = {"user_id": user_id, "email": email, "role": invite["role"], "invitation_id": invite["invitation_id"]}
    await audit.record(cur, invite["store_id"], user_id, "member", user_id, "join", None, joined)
