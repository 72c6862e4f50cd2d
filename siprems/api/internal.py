"""Diagnostics are for operators, not the public: `/metrics`, `/cache-stats` and
the details of `/ready` answer only an internal caller, otherwise 404 exactly
like an unknown route (`/ready` then gives only its status).

Internal means: the configured `METRICS_TOKEN` as a bearer token, or, with no
token configured, a request that did not pass a proxy (no `X-Forwarded-For`):
every public request comes through HAProxy, which adds that header, so only
callers on the internal network reaching an instance's own port qualify.
"""

from __future__ import annotations

import hmac
from functools import wraps

from sanic import Request

from siprems.api.guard import bearer_token
from siprems.errors import NotFound


def is_internal(request: Request) -> bool:
    token = request.app.ctx.settings.metrics_token
    if token:
        return hmac.compare_digest((bearer_token(request) or "").encode(), token.encode())
    return "x-forwarded-for" not in request.headers and "forwarded" not in request.headers


def internal_only(handler):
    @wraps(handler)
    async def wrapper(request: Request, *args, **kwargs):
        if not is_internal(request):
            raise NotFound("The requested URL was not found on this server.")
        return await handler(request, *args, **kwargs)

    return wrapper
