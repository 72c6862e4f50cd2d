"""Public holidays from the `holidays` package, per country (and optional
subdivision). Computing a country's calendar takes tens of milliseconds, so
each (country, subdivision, year) is computed once per process."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays as _holidays

DEFAULT_COUNTRY = "ID"


@lru_cache(maxsize=512)
def country_year(
    country: str, subdivision: str | None, year: int, language: str | None = None
) -> tuple[tuple[date, str], ...]:
    """One country's public holidays in one year, date order, computed once per process
    (the one holiday source: the events API, forecasting and the assistant all read it).
    An unknown subdivision falls back to the country; an unknown country has none;
    `language` ("id", "en") names them in it when the package has it."""
    try:
        probe = _holidays.country_holidays(country, subdiv=subdivision)
    except (NotImplementedError, KeyError):
        if subdivision is not None:
            return country_year(country, None, year, language)
        return ()
    wanted = {"id": "id", "en": "en_US"}.get(language or "")
    spoken = wanted if wanted in getattr(probe, "supported_languages", ()) else None
    calendar = _holidays.country_holidays(country, subdiv=subdivision, years=year, language=spoken)
    return tuple(sorted(calendar.items()))


def public_holidays(
    country: str | None, start: date, end: date, subdivision: str | None = None, language: str | None = None
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
        found.extend(
            (day, name) for day, name in country_year(country, subdivision, year, language) if start <= day <= end
        )
    return found


def holiday_name(country: str | None, day: date, subdivision: str | None = None) -> str | None:
    """The public holiday on `day`, or None."""
    for _found, name in public_holidays(country, day, day, subdivision):
        return name
    return None
