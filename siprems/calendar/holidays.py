"""Public holidays from the `holidays` package, per country (and optional
subdivision). Computing a country's calendar takes tens of milliseconds, so
each (country, subdivision, year) is computed once per process."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays as _holidays

DEFAULT_COUNTRY = "ID"


@lru_cache(maxsize=512)
def _year(country: str, subdivision: str | None, year: int) -> tuple[tuple[date, str], ...]:
    try:
        calendar = _holidays.country_holidays(country, subdiv=subdivision, years=year)
    except NotImplementedError:  # unknown country or subdivision: no public holidays
        if subdivision is not None:
            return _year(country, None, year)
        return ()
    return tuple(sorted(calendar.items()))


def public_holidays(
    country: str | None, start: date, end: date, subdivision: str | None = None
) -> list[tuple[date, str]]:
    """(date, name) of every public holiday in [start, end], in date order.

    Several holidays on one day come as one entry with the names joined by
    "; " (as the `holidays` package reports them).
    """
    if not country or start > end:
        return []
    country = country.upper()
    found: list[tuple[date, str]] = []
    for year in range(start.year, end.year + 1):
        found.extend((day, name) for day, name in _year(country, subdivision, year) if start <= day <= end)
    return found


def holiday_name(country: str | None, day: date, subdivision: str | None = None) -> str | None:
    """The public holiday on `day`, or None."""
    for _found, name in public_holidays(country, day, day, subdivision):
        return name
    return None
