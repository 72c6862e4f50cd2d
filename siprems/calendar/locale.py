"""A store's place and time: country (for public holidays) and time zone (for
"today" and day boundaries). Local days are turned into UTC instants in
Python, so queries compare `transaction_date` with plain timestamptz values
and can use the (store_id, transaction_date) index."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from siprems import cache
from siprems.db import Pool, fetch_one
from siprems.errors import NotFound
from siprems.redis_client import Redis

DEFAULT_TIMEZONE = "Asia/Jakarta"
DEFAULT_COUNTRY = "ID"


@lru_cache(maxsize=256)
def zone_name(name: str | None) -> str:
    """`name` if it is a known IANA time zone, else the default one."""
    try:
        ZoneInfo(name or DEFAULT_TIMEZONE)
        return name or DEFAULT_TIMEZONE
    except (ZoneInfoNotFoundError, ValueError):
        return DEFAULT_TIMEZONE


def zone(name: str | None) -> tzinfo:
    """The named time zone; the default one when the name is unknown."""
    return ZoneInfo(zone_name(name))


@dataclass(frozen=True)
class StoreLocale:
    store_id: int
    country: str
    subdivision: str | None
    timezone: str

    @property
    def tz(self) -> tzinfo:
        return zone(self.timezone)

    def today(self, now: datetime | None = None) -> date:
        return (now or datetime.now(self.tz)).astimezone(self.tz).date()

    def day_start(self, day: date) -> datetime:
        """The instant the local day begins (aware; DST-safe via zoneinfo)."""
        return datetime.combine(day, time(0), self.tz)

    def days_window(self, first: date, last: date) -> tuple[datetime, datetime]:
        """[start of `first`, start of the day after `last`) as aware datetimes."""
        return self.day_start(first), self.day_start(last + timedelta(days=1))


LOCALE_COLUMNS = "country, subdivision, timezone"  # of `stores`: what `locale_of` reads


def locale_of(store_id: int, row: Mapping[str, Any]) -> StoreLocale:
    """The locale from a `stores` row's LOCALE_COLUMNS (the defaults where unset or unknown)."""
    return StoreLocale(
        store_id,
        (row["country"] or DEFAULT_COUNTRY).upper(),
        row["subdivision"] or None,
        zone_name(row["timezone"]),
    )


LOCALE_CACHE_SECONDS = 300


async def store_locale(pool: Pool, store_id: int, redis: Redis | None = None) -> StoreLocale:
    """The store's locale; read through the per-store Redis cache when `redis`
    is given (settings writes bump the store's cache generation)."""

    async def load() -> dict[str, Any]:
        row = await fetch_one(pool, f"SELECT {LOCALE_COLUMNS} FROM stores WHERE store_id = %s", (store_id,))
        if row is None:
            raise NotFound("Store not found")
        locale = locale_of(store_id, row)
        return {"country": locale.country, "subdivision": locale.subdivision, "timezone": locale.timezone}

    found = (
        await load()
        if redis is None
        else await cache.cached(redis, store_id, (cache.SETTINGS,), "locale", LOCALE_CACHE_SECONDS, load)
    )
    return StoreLocale(store_id, **found)


# Every date a client sends lies in these years: all a shop can mean, and far
# enough from datetime's limits (years 1 and 9999) that no time-zone shift or
# day arithmetic overflows (9999-12-31 once answered 500).
MIN_YEAR, MAX_YEAR = 1900, 2200


def check_year(day: date) -> date:
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise ValueError(f"must be between {MIN_YEAR}-01-01 and {MAX_YEAR}-12-31")
    return day


def parse_iso_date(value: str) -> date:
    """Exactly YYYY-MM-DD (no time, no other format), as a real calendar date
    within [MIN_YEAR, MAX_YEAR]."""
    if not isinstance(value, str) or len(value) != 10 or value[4] != "-" or value[7] != "-":
        raise ValueError("must be a date in the form YYYY-MM-DD")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a real calendar date in the form YYYY-MM-DD") from None
    return check_year(day)
