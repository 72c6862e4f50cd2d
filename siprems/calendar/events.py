"""A store's calendar events, and the list the calendar page shows: the
store's own events plus the public holidays of its country.

Public holidays are not rows: they come from `siprems.calendar.holidays`,
carry a string id `ph-YYYY-MM-DD`, and cannot be edited or deleted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, get_args

from siprems import audit
from siprems.calendar.holidays import public_holidays
from siprems.calendar.locale import StoreLocale
from siprems.db import Pool, TransactionCursor, fetch_all, fetch_one, transaction
from siprems.errors import Forbidden, NotFound

EventType = Literal["promotion", "holiday", "store-closed"]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)
HOLIDAY_PREFIX = "ph-"
_DIGITS = re.compile(r"[0-9]{1,19}")
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class EventInput:
    name: str
    date: date
    type: str
    description: str | None
    include_in_prediction: bool


_COLUMNS = "event_id, event_name, event_date, type, description, include_in_prediction, created_at"


@dataclass
class Event:
    """A store event, or a public holiday (string id `ph-YYYY-MM-DD`, not deletable)."""

    event_id: int | str
    event_name: str
    event_date: date  # sent as exactly YYYY-MM-DD
    type: EventType
    description: str | None
    include_in_prediction: bool
    created_at: datetime | None  # in the store's time zone; None for a public holiday
    is_public_holiday: bool
    deletable: bool


def _event(row: dict[str, Any], locale: StoreLocale) -> Event:
    return Event(
        row["event_id"],
        row["event_name"],
        row["event_date"],
        row["type"],
        row["description"],
        row["include_in_prediction"],
        row["created_at"].astimezone(locale.tz),
        is_public_holiday=False,
        deletable=True,
    )


def _holiday(day: date, name: str, locale: StoreLocale) -> Event:
    return Event(
        f"{HOLIDAY_PREFIX}{day.isoformat()}",
        name,
        day,
        "holiday",
        f"Public holiday ({locale.country})",
        include_in_prediction=True,
        created_at=None,
        is_public_holiday=True,
        deletable=False,
    )


def default_range(locale: StoreLocale) -> tuple[date, date]:
    """The current year and the next, in the store's time zone."""
    year = locale.today().year
    return date(year, 1, 1), date(year + 1, 12, 31)


async def list_events(pool: Pool, locale: StoreLocale, start: date | None, end: date | None) -> list[Event]:
    """Store events (all, or those in [start, end]) plus public holidays in
    [start, end] (default: this year and next), newest first."""
    sql = f"SELECT {_COLUMNS} FROM events WHERE store_id = %(store)s"
    if start is not None:
        sql += " AND event_date >= %(start)s"
    if end is not None:
        sql += " AND event_date <= %(end)s"
    rows = await fetch_all(pool, sql, {"store": locale.store_id, "start": start, "end": end})
    first, last = _holiday_range(locale, start, end)
    items = [_event(r, locale) for r in rows]
    items += [_holiday(d, n, locale) for d, n in public_holidays(locale.country, first, last, locale.subdivision)]
    # Newest first (as the earlier backend); store events before a holiday on the same day.
    items.sort(
        key=lambda e: (e.event_date, not e.is_public_holiday, e.event_id if isinstance(e.event_id, int) else 0),
        reverse=True,
    )
    return items


def _holiday_range(locale: StoreLocale, start: date | None, end: date | None) -> tuple[date, date]:
    """The requested range; an open side defaults to this year and next (or
    to the whole year of the given side when that lies outside the default)."""
    default_start, default_end = default_range(locale)
    first = start or (date(end.year, 1, 1) if end is not None and end < default_start else default_start)
    last = end or (date(start.year, 12, 31) if start is not None and start > default_end else default_end)
    return first, last


def _store_event_id(event_id: str) -> int | None:
    if _DIGITS.fullmatch(event_id) and int(event_id) <= MAX_ID:  # ASCII digits only ('²'.isdigit() is True)
        return int(event_id)
    return None


def _public_holiday(event_id: str, locale: StoreLocale) -> Event | None:
    if not event_id.startswith(HOLIDAY_PREFIX):
        return None
    try:
        day = date.fromisoformat(event_id[len(HOLIDAY_PREFIX) :])
    except ValueError:
        return None
    for found, name in public_holidays(locale.country, day, day, locale.subdivision):
        return _holiday(found, name, locale)
    return None


def _not_found(event_id: str) -> NotFound:
    return NotFound(f"Event {event_id} not found", code="event_not_found")


async def get_event(pool: Pool, locale: StoreLocale, event_id: str) -> Event:
    holiday = _public_holiday(event_id, locale)
    if holiday is not None:
        return holiday
    numeric = _store_event_id(event_id)
    row = (
        None
        if numeric is None
        else await fetch_one(
            pool, f"SELECT {_COLUMNS} FROM events WHERE store_id = %s AND event_id = %s", (locale.store_id, numeric)
        )
    )
    if row is None:
        raise _not_found(event_id)
    return _event(row, locale)


def _protect_public_holiday(event_id: str, locale: StoreLocale, action: str) -> None:
    if _public_holiday(event_id, locale) is not None:
        raise Forbidden(
            f"Public holidays come from the national calendar and cannot be {action}.", code="public_holiday_protected"
        )


async def create_event(pool: Pool, locale: StoreLocale, data: EventInput, user_id: int | None = None) -> Event:
    async with transaction(pool) as cur:
        await cur.execute(
            f"""INSERT INTO events (store_id, event_name, event_date, type, description, include_in_prediction)
                VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}""",
            (locale.store_id, data.name, data.date, data.type, data.description, data.include_in_prediction),
        )
        row = dict(await cur.fetchone())
        await _audit(cur, locale, user_id, "create", None, row)
    return _event(row, locale)


async def _audit(
    cur: TransactionCursor,
    locale: StoreLocale,
    user_id: int | None,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """The audit entry of an event change, sent with the COMMIT."""
    changed = after or before
    assert changed is not None  # a create has `after`, a delete `before`, an update both
    event_id = changed["event_id"]
    old, new = audit.changed(before, after)
    sql, params = audit.statement(locale.store_id, user_id, "event", event_id, action, old, new)
    await cur.execute_and_commit(sql, params)


async def update_event(
    pool: Pool, locale: StoreLocale, event_id: str, data: EventInput, user_id: int | None = None
) -> Event:
    _protect_public_holiday(event_id, locale, "edited")
    numeric = _store_event_id(event_id)
    if numeric is None:
        raise _not_found(event_id)
    async with transaction(pool) as cur:
        await cur.execute(
            f"SELECT {_COLUMNS} FROM events WHERE store_id = %s AND event_id = %s FOR UPDATE",
            (locale.store_id, numeric),
        )
        before = await cur.fetchone()
        if before is None:
            raise _not_found(event_id)
        await cur.execute(
            f"""UPDATE events SET event_name = %s, event_date = %s, type = %s, description = %s,
                       include_in_prediction = %s
                 WHERE store_id = %s AND event_id = %s RETURNING {_COLUMNS}""",
            (data.name, data.date, data.type, data.description, data.include_in_prediction, locale.store_id, numeric),
        )
        row = dict(await cur.fetchone())
        await _audit(cur, locale, user_id, "update", dict(before), row)
    return _event(row, locale)


async def delete_event(pool: Pool, locale: StoreLocale, event_id: str, user_id: int | None = None) -> None:
    _protect_public_holiday(event_id, locale, "deleted")
    numeric = _store_event_id(event_id)
    if numeric is None:
        raise _not_found(event_id)
    async with transaction(pool) as cur:
        await cur.execute(
            f"DELETE FROM events WHERE store_id = %s AND event_id = %s RETURNING {_COLUMNS}", (locale.store_id, numeric)
        )
        deleted = await cur.fetchone()
        if deleted is None:
            raise _not_found(event_id)
        await _audit(cur, locale, user_id, "delete", dict(deleted), None)


async def prediction_events(pool: Pool, store_id: int) -> list[dict[str, Any]]:
    """The store's events that forecasting uses (marked include_in_prediction), as
    `{date, name, kind}`: the one loader of store events for training and charts.
    Public holidays are not among them: forecasting reads those from the country."""
    rows = await fetch_all(
        pool,
        "SELECT event_name, event_date, type FROM events WHERE store_id = %s AND include_in_prediction",
        (store_id,),
    )
    return [{"date": r["event_date"], "name": r["event_name"], "kind": r["type"]} for r in rows]
