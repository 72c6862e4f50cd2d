"""Authentication for routes: `@authenticated` reads the Bearer access token
and puts the caller's identity (user id, store id) on `request.ctx`. The store
id in the token scopes every query the handler makes. A revoked token (logout,
password change; `siprems.auth.revocation`) answers 401 like an invalid one.
A member whose role is below the route's (`siprems/api/access.py`) gets 403."""

from __future__ import annotations

from functools import wraps

from sanic import Request

from siprems.api import access
from siprems.auth import revocation
from siprems.auth.tokens import Identity, decode_access
from siprems.calendar.locale import StoreLocale, store_locale
from siprems.errors import Forbidden, Unauthorized
from siprems.team import roles


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def identify(request: Request) -> Identity | None:
    """The caller's identity if a valid, unrevoked access token is present, else None."""
    token = bearer_token(request)
    if token is None:
        return None
    return await _verified(request, token)


async def _verified(request: Request, token: str) -> Identity:
    identity = decode_access(token, request.app.ctx.settings.jwt_secret)
    # A separate, cheap step: a per-process cache in front of one Redis MGET.
    if await revocation.is_revoked(request.app.ctx.queue, identity.user_id, identity.session, identity.version):
        raise Unauthorized("The token has been revoked; please log in again.", code="token_revoked")
    return identity


def authenticated(handler):
    @wraps(handler)
    async def wrapper(request: Request, *args, **kwargs):
        token = bearer_token(request)
        if token is None:
            raise Unauthorized("Missing authorization token", code="missing_token")
        request.ctx.identity = identity = await _verified(request, token)
        request.ctx.store_id = identity.store_id
        _check_role(request, identity)
        return await handler(request, *args, **kwargs)

    return wrapper


def _check_role(request: Request, identity: Identity) -> None:
    """403 naming the role needed when the caller's role is below the route's (siprems/api/access.py)."""
    needed = access.required_role(request.method, request.route.path)
    if needed in (access.PUBLIC, access.MEMBER) or roles.allows(identity.role, needed):
        return
    raise Forbidden(
        f"This needs the {needed} role (or higher); your role in this store is {identity.role}.",
        code="forbidden_role",
        extra={"required_role": needed, "role": identity.role},
    )


async def caller_locale(request: Request) -> StoreLocale:
    """The caller's store locale (time zone, country), through the store's cache."""
    ctx = request.app.ctx
    return await store_locale(ctx.db, request.ctx.store_id, ctx.redis)
