"""Authentication for routes: `@authenticated` reads the Bearer access token
and puts the caller's identity (user id, store id) on `request.ctx`. The store
id in the token scopes every query the handler makes."""

from __future__ import annotations

from functools import wraps

from sanic import Request

from siprems.auth.tokens import Identity, decode_access
from siprems.calendar.locale import StoreLocale, store_locale
from siprems.errors import Unauthorized


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def identify(request: Request) -> Identity | None:
    """The caller's identity if a valid access token is present, else None."""
    token = bearer_token(request)
    if token is None:
        return None
    return decode_access(token, request.app.ctx.settings.jwt_secret)


def authenticated(handler):
    @wraps(handler)
    async def wrapper(request: Request, *args, **kwargs):
        token = bearer_token(request)
        if token is None:
            raise Unauthorized("Missing authorization token", code="missing_token")
        request.ctx.identity = decode_access(token, request.app.ctx.settings.jwt_secret)
        request.ctx.store_id = request.ctx.identity.store_id
        return await handler(request, *args, **kwargs)

    return wrapper


async def caller_locale(request: Request) -> StoreLocale:
    """The caller's store locale (time zone, country), through the store's cache."""
    ctx = request.app.ctx
    return await store_locale(ctx.db, request.ctx.store_id, ctx.redis)
