"""Cached reads whose answer depends on the store's local date (dashboard,
events): an entry lives at most until the store's next local midnight, so its
key needs no date and a hit needs no locale lookup (one Redis round trip)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sanic import Request

from siprems import cache
from siprems.api.guard import caller_locale
from siprems.calendar.locale import StoreLocale


async def cached_for_today(
    request: Request, families: Iterable[str], name: str, load: Callable[[StoreLocale], Awaitable[Any]]
) -> bytes:
    """`load(locale)`'s JSON bytes, cached per store; the store's locale is part of
    what the entry depends on (SETTINGS), so a time-zone change is a new entry."""
    ctx = request.app.ctx
    ttl = ctx.settings.cache_ttl_seconds
    lifetime = [ttl]

    async def compute() -> Any:
        locale = await caller_locale(request)
        now = datetime.now(locale.tz)
        midnight = locale.day_start(locale.today(now) + timedelta(days=1))
        lifetime[0] = max(1, min(ttl, int((midnight - now).total_seconds())))
        return await load(locale)

    return await cache.cached_bytes(
        ctx.redis, request.ctx.store_id, (*families, cache.SETTINGS), name, lambda: lifetime[0], compute
    )
