"""Accounts: registration (a user and their store), login, refresh-token
rotation with reuse detection, logout and password change.

`queue` is the queue Redis, where access-token revocations live
(`siprems.auth.revocation`)."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg2.errors

from siprems.auth import passwords, revocation, throttle, tokens
from siprems.auth.tokens import Identity
from siprems.db import fetch_one, transaction
from siprems.errors import ApiError, BadRequest, Forbidden, Unauthorized
from siprems.team import invitations, members
from siprems.team.roles import Role

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass
class Tokens:
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int  # seconds the access token lives


@dataclass
class Joined(Tokens):
    """Tokens for the store just joined, now the caller's active one."""

    store_id: int
    role: Role


@dataclass
class UserOfStore:
    """A user and their role in their active store."""

    user_id: int
    email: str
    full_name: str
    store_id: int
    role: Role


@dataclass
class LoggedIn(Tokens, UserOfStore):
    """The user and the tokens at the top level (the frontend reads them there)."""


@dataclass
class Profile:
    user_id: int
    email: str
    full_name: str
    created_at: datetime
    is_active: bool
    store_id: int
    store_name: str
    role: Role


async def register(pool, email: str, password: str, full_name: str, invitation_token: str | None = None) -> UserOfStore:
    """A new user: with an invitation token they join its store with its role,
    else they own a new store of their own."""
    problem = await asyncio.to_thread(passwords.password_problem, password)
    if problem:
        raise BadRequest(problem, code="weak_password")
    password_hash = await asyncio.to_thread(passwords.hash_password, password)
    try:
        async with transaction(pool) as cur:
            invite = await invitations.claim(cur, invitation_token, email) if invitation_token else None
            if invite is None:
                await cur.execute("INSERT INTO stores (name) VALUES (%s) RETURNING store_id", (f"{full_name}'s store",))
                store_id = (await cur.fetchone())["store_id"]
            else:
                store_id = invite["store_id"]
            await cur.execute(
                """INSERT INTO users (store_id, email, full_name, password_hash)
                   VALUES (%s, %s, %s, %s) RETURNING user_id, email, full_name""",
                (store_id, email, full_name, password_hash),
            )
            user = dict(await cur.fetchone())
            if invite is None:
                await members.add(cur, store_id, user["user_id"], "owner")
                await cur.execute(
                    "INSERT INTO opening_hours (store_id, day_of_week) SELECT %s, unnest(%s::text[])",
                    (store_id, list(DAYS)),
                )
            else:
                await invitations.join(cur, invite, user["user_id"], email)
    except psycopg2.errors.UniqueViolation as exc:
        raise BadRequest("Email already in use", code="email_taken") from exc
    return UserOfStore(**user, store_id=store_id, role=invite["role"] if invite else "owner")


async def accept_invitation(pool, settings, identity: Identity, token: str) -> Joined:
    """A logged-in user joins the invitation's store, which becomes their
    active one; returns tokens for it (their earlier tokens keep naming the
    store they were issued for, where they are still a member)."""
    async with transaction(pool) as cur:
        invite = await invitations.claim(cur, token, identity.email)
        await invitations.join(cur, invite, identity.user_id, identity.email)
        joined = Identity(identity.user_id, invite["store_id"], identity.email, role=invite["role"])
        pair = await _issue_pair(cur, joined, settings, identity.version)
    return Joined(**dataclasses.asdict(pair), store_id=invite["store_id"], role=invite["role"])


async def _issue_pair(cur, identity: Identity, settings, version: int, family: str | None = None) -> Tokens:
    """A refresh token (new family unless given) and an access token of that session
    carrying the user's current token `version`."""
    refresh, claims = tokens.new_refresh(identity, settings.jwt_secret, settings.jwt_refresh_days, family)
    session = dataclasses.replace(identity, session=claims.family, version=version)
    access = tokens.issue_access(session, settings.jwt_secret, settings.jwt_access_minutes)
    await cur.execute(
        "INSERT INTO refresh_tokens (jti, family_id, user_id, expires_at) VALUES (%s, %s, %s, to_timestamp(%s))",
        (claims.jti, claims.family, identity.user_id, claims.expires_at),
    )
    return Tokens(access, refresh, "Bearer", settings.jwt_access_minutes * 60)


async def login(pool, redis, queue, settings, email: str, password: str) -> LoggedIn:
    """`redis`: the cache Redis, where failed logins per account are counted."""
    await throttle.check(redis, email)
    user = await fetch_one(
        pool,
        """SELECT u.user_id, u.store_id, u.email, u.full_name, u.password_hash, u.is_active, m.role
             FROM users u LEFT JOIN store_members m ON m.store_id = u.store_id AND m.user_id = u.user_id
            WHERE lower(u.email) = lower(%s)""",
        (email,),
    )
    # Verify against a dummy hash when the user is unknown: same cost, no oracle.
    ok = await asyncio.to_thread(
        passwords.verify_password, user["password_hash"] if user else passwords.DUMMY_HASH, password
    )
    if not user or not ok:
        await throttle.failed(redis, email)
        raise Unauthorized("Invalid email or password", code="invalid_credentials")
    await throttle.succeeded(redis, email)
    if not user["is_active"]:
        raise Unauthorized("Account is deactivated", code="account_deactivated")
    version = await revocation.current_version(queue, user["user_id"])
    async with transaction(pool) as cur:
        store_id, role = user["store_id"], user["role"]
        if role is None:  # removed from their active store: another one they belong to
            store_id, role = await _other_store(cur, user["user_id"])
        identity = Identity(user["user_id"], store_id, user["email"], role=role)
        pair = await _issue_pair(cur, identity, settings, version)
    return LoggedIn(
        **dataclasses.asdict(pair),
        user_id=user["user_id"],
        email=user["email"],
        full_name=user["full_name"],
        store_id=store_id,
        role=role,
    )


async def _other_store(cur, user_id: int) -> tuple[int, str]:
    await cur.execute(
        """UPDATE users u SET store_id = m.store_id, updated_at = now()
             FROM (SELECT store_id, role FROM store_members WHERE user_id = %(user)s
                    ORDER BY joined_at DESC LIMIT 1) m
            WHERE u.user_id = %(user)s RETURNING m.store_id, m.role""",
        {"user": user_id},
    )
    row = await cur.fetchone()
    if row is None:
        raise Forbidden(
            "This account is not a member of any store any more; ask a store owner for an invitation.",
            code="not_a_member",
        )
    return row["store_id"], row["role"]


async def refresh(pool, queue, settings, refresh_token: str) -> Tokens:
    claims = tokens.decode_refresh(refresh_token, settings.jwt_secret)
    version = await revocation.current_version(queue, claims.identity.user_id)
    reused = False
    async with transaction(pool) as cur:
        await cur.execute(
            """SELECT t.used_at, t.revoked_at, u.is_active, m.role FROM refresh_tokens t
               JOIN users u USING (user_id)
               LEFT JOIN store_members m ON m.user_id = t.user_id AND m.store_id = %s
              WHERE t.jti = %s FOR UPDATE OF t""",
            (claims.identity.store_id, claims.jti),
        )
        row = await cur.fetchone()
        if row is None or row["revoked_at"] is not None or not row["is_active"]:
            raise Unauthorized("Invalid or expired refresh token", code="invalid_token")
        if row["role"] is None:
            raise Unauthorized("No longer a member of this store; please log in again", code="not_a_member")
        if row["used_at"] is not None:
            reused = True
        else:
            await cur.execute("UPDATE refresh_tokens SET used_at = now() WHERE jti = %s", (claims.jti,))
            # The role as it is now: a role change shows in the next access token.
            identity = dataclasses.replace(claims.identity, role=row["role"])
            pair = await _issue_pair(cur, identity, settings, version, claims.family)
    if reused:
        # A rotated token came back: someone holds a copy. Revoke the family.
        await revoke_family(pool, claims.family)
        raise Unauthorized("Refresh token reuse detected; please log in again", code="token_reused")
    return pair


async def revoke_family(pool, family: str) -> None:
    async with transaction(pool) as cur:
        await cur.execute(
            "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = %s AND revoked_at IS NULL", (family,)
        )


async def logout(pool, queue, settings, identity: Identity, refresh_token: str | None) -> None:
    """Ends the caller's session (the access token's own, with or without a refresh
    token in the body) and the session of the given refresh token if it is theirs."""
    families = {identity.session} if identity.session else set()
    if refresh_token:
        try:
            claims = tokens.decode_refresh(refresh_token, settings.jwt_secret)
        except ApiError:
            claims = None  # logging out with a bad token still logs out
        if claims is not None and claims.identity.user_id == identity.user_id:
            families.add(claims.family)
    for family in families:
        await revocation.revoke_session(queue, family, settings.jwt_access_minutes * 60)
        await revoke_family(pool, family)


async def profile(pool, identity: Identity) -> Profile | None:
    row = await fetch_one(
        pool,
        """SELECT u.user_id, u.email, u.full_name, u.created_at, u.is_active, m.store_id, s.name AS store_name,
                  m.role
             FROM store_members m JOIN users u ON u.user_id = m.user_id JOIN stores s ON s.store_id = m.store_id
            WHERE m.user_id = %s AND m.store_id = %s""",
        (identity.user_id, identity.store_id),
    )
    return Profile(**row) if row else None


async def change_password(pool, queue, settings, identity: Identity, old_password: str, new_password: str) -> Tokens:
    """Returns a fresh token pair for the caller; every earlier token (the caller's
    included) is revoked."""
    user = await fetch_one(pool, "SELECT password_hash FROM users WHERE user_id = %s", (identity.user_id,))
    if not user:
        raise Unauthorized("Unknown user", code="invalid_token")
    if not await asyncio.to_thread(passwords.verify_password, user["password_hash"], old_password):
        raise BadRequest("Current password is incorrect", code="wrong_password")
    problem = await asyncio.to_thread(passwords.password_problem, new_password)
    if problem:
        raise BadRequest(problem, code="weak_password")
    new_hash = await asyncio.to_thread(passwords.hash_password, new_password)
    # Revoke the access tokens first: if Redis fails, the password stays as it was.
    version = await revocation.bump_user_version(queue, identity.user_id)
    async with transaction(pool) as cur:
        await cur.execute(
            "UPDATE users SET password_hash = %s, updated_at = now() WHERE user_id = %s", (new_hash, identity.user_id)
        )
        # Other sessions end: their refresh tokens stop working.
        await cur.execute(
            "UPDATE refresh_tokens SET revoked_at = %s WHERE user_id = %s AND revoked_at IS NULL",
            (datetime.now(UTC), identity.user_id),
        )
        return await _issue_pair(cur, identity, settings, version)
