"""Read and change a store's settings and opening hours.

Every user has exactly one store (created at registration), so "create" on
an existing store is an update. Opening hours are read-modify-written under
a row lock so two saves never interleave day by day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from siprems import audit
from siprems.db import fetch_all, fetch_one, transaction
from siprems.errors import NotFound, ValidationFailed
from siprems.stores.fields import DAYS, DayHours, supported_countries

DEFAULT_HOURS = {"open": "08:00", "close": "21:00", "closed": False}
_STORE_COLUMNS = "store_id, name, address, country, subdivision, timezone, currency, created_at, updated_at"


@dataclass
class Store:
    store_id: int
    name: str
    address: str | None
    country: str
    subdivision: str | None
    timezone: str
    currency: str
    created_at: datetime
    updated_at: datetime


@dataclass
class Hours:
    """One day, times as "HH:MM"; a closed day keeps its last times."""

    open: str
    close: str
    closed: bool


@dataclass
class Week:
    """The settings page's day map, by day name."""

    Monday: Hours
    Tuesday: Hours
    Wednesday: Hours
    Thursday: Hours
    Friday: Hours
    Saturday: Hours
    Sunday: Hours


@dataclass
class StoreSettings:
    store: Store
    opening_hours: Week


def _settings(store: dict, hours: dict[str, dict]) -> StoreSettings:
    return StoreSettings(Store(**store), Week(**{day: Hours(**times) for day, times in hours.items()}))


def _hours_map(rows: list[dict]) -> dict[str, dict]:
    """Monday..Sunday in order; a missing row reads as the default hours."""
    by_day = {
        r["day_of_week"]: {"open": r["open_time"], "close": r["close_time"], "closed": r["is_closed"]} for r in rows
    }
    return {day: by_day.get(day, dict(DEFAULT_HOURS)) for day in DAYS}


async def opening_hours(pool, store_id: int) -> dict[str, dict]:
    rows = await fetch_all(
        pool, "SELECT day_of_week, open_time, close_time, is_closed FROM opening_hours WHERE store_id = %s", (store_id,)
    )
    return _hours_map(rows)


async def load(pool, store_id: int) -> StoreSettings:
    store = await fetch_one(pool, f"SELECT {_STORE_COLUMNS} FROM stores WHERE store_id = %s", (store_id,))
    if store is None:
        raise NotFound("Store not found", code="store_not_found")
    return _settings(store, await opening_hours(pool, store_id))


def _check_subdivision(country: str, subdivision: str | None) -> None:
    if subdivision is None:
        return
    known = supported_countries().get(country, [])
    if subdivision not in known:
        hint = f" (one of {', '.join(known[:12])}{', ...' if len(known) > 12 else ''})" if known else ""
        raise ValidationFailed(
            f"Field 'subdivision' is not a subdivision of {country}{hint}.",
            extra={"details": [{"field": "subdivision", "message": "is not valid for the country"}]},
        )


def merge_hours(current: dict[str, dict], changes: dict[str, DayHours]) -> dict[str, dict]:
    """Apply the sent fields of each day; an open day must open before it closes."""
    merged = {day: dict(hours) for day, hours in current.items()}
    for day, change in changes.items():
        for name in ("open", "close", "closed"):
            value = getattr(change, name)
            if value is not None:
                merged[day][name] = value
        hours = merged[day]
        if not hours["closed"] and hours["open"] >= hours["close"]:
            field = f"opening_hours.{day}"
            raise ValidationFailed(
                f"Field '{field}': open ({hours['open']}) must be before close ({hours['close']}) "
                f"unless the day is closed.",
                extra={"details": [{"field": field, "message": "open must be before close"}]},
            )
    return merged


async def update(
    pool,
    store_id: int,
    store_changes: dict[str, Any],
    hours_changes: dict[str, DayHours] | None,
    user_id: int | None = None,
) -> StoreSettings:
    """Apply store fields and/or opening hours in one transaction, with its
    audit entry (the fields and days that changed); returns `load()`'s shape."""
    async with transaction(pool) as cur:
        # NO KEY UPDATE: serialises settings saves without blocking inserts
        # elsewhere that take KEY SHARE on the store row for their foreign key.
        await cur.execute(f"SELECT {_STORE_COLUMNS} FROM stores WHERE store_id = %s FOR NO KEY UPDATE", (store_id,))
        store = old_store = await cur.fetchone()
        if store is None:
            raise NotFound("Store not found", code="store_not_found")
        changes = dict(store_changes)
        if "country" in changes and changes["country"] != store["country"] and "subdivision" not in changes:
            changes["subdivision"] = None  # the old region belongs to the old country
        _check_subdivision(changes.get("country", store["country"]), changes.get("subdivision", store["subdivision"]))
        if changes:
            sets = ", ".join(f"{name} = %({name})s" for name in changes)  # names come from the model, not input
            await cur.execute(
                f"UPDATE stores SET {sets}, updated_at = now() WHERE store_id = %(store)s RETURNING {_STORE_COLUMNS}",
                {**changes, "store": store_id},
            )
            store = await cur.fetchone()
        await cur.execute(
            "SELECT day_of_week, open_time, close_time, is_closed FROM opening_hours WHERE store_id = %s", (store_id,)
        )
        hours = _hours_map(list(await cur.fetchall()))
        before = {"store": dict(old_store), "opening_hours": hours}
        if hours_changes:
            hours = merge_hours(hours, hours_changes)
            days = list(hours_changes)
            await cur.execute(
                """INSERT INTO opening_hours (store_id, day_of_week, open_time, close_time, is_closed, updated_at)
                   SELECT %s, h.day, h.open, h.close, h.closed, now()
                   FROM unnest(%s::text[], %s::text[], %s::text[], %s::bool[]) AS h(day, open, close, closed)
                   ON CONFLICT (store_id, day_of_week) DO UPDATE SET open_time = EXCLUDED.open_time,
                       close_time = EXCLUDED.close_time, is_closed = EXCLUDED.is_closed, updated_at = now()""",
                (
                    store_id,
                    days,
                    [hours[d]["open"] for d in days],
                    [hours[d]["close"] for d in days],
                    [hours[d]["closed"] for d in days],
                ),
            )
        old_store, new_store = audit.changed(before["store"], dict(store))
        old_hours, new_hours = audit.changed(before["opening_hours"], hours)
        if new_store or new_hours:
            sql, params = audit.statement(
                store_id,
                user_id,
                "settings",
                store_id,
                "update",
                {"store": old_store, "opening_hours": old_hours},
                {"store": new_store, "opening_hours": new_hours},
            )
            await cur.execute(sql, params)
    return _settings(store, hours)
