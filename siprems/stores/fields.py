"""Input models for store settings and opening hours.

Field names are snake_case; the settings page's own state names
(`storeName`, `storeAddress`, `openingHours`) are accepted as aliases. In
these bodies an omitted or null field means "leave unchanged".
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from typing import Annotated, Any, ClassVar

import holidays
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ALIASES = {"storeName": "name", "storeAddress": "address", "openingHours": "opening_hours"}
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


@functools.cache
def supported_countries() -> dict[str, list[str]]:
    """ISO 3166-1 alpha-2 codes the `holidays` package knows, with their subdivisions."""
    return {code: list(subdivs) for code, subdivs in holidays.list_supported_countries().items() if len(code) == 2}


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _country(value: str) -> str:
    code = value.upper()
    if code not in supported_countries():
        raise ValueError("must be an ISO 3166-1 alpha-2 country code with public-holiday data (e.g. ID, SG, US)")
    return code


def _timezone(value: str) -> str:
    if value not in _zones():
        raise ValueError("must be an IANA time zone name (e.g. Asia/Jakarta)")
    return value


def _currency(value: str) -> str:
    code = value.upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ValueError("must be a three-letter ISO 4217 currency code (e.g. IDR)")
    return code


def _time(value: str) -> str:
    if not _TIME.match(value):
        raise ValueError("must be a time as HH:MM (00:00-23:59)")
    return value


def _day(key: Any) -> Any:
    if isinstance(key, str):
        for day in DAYS:
            if key.strip().lower() == day.lower():
                return day
    return key


def _canonical(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = ALIASES.get(key, key)
        if name in out and out[name] != value:
            raise ValueError(f"'{key}' and '{name}' are the same field with different values; send one of them")
        out[name] = value
    return out


Country = Annotated[str, Field(min_length=2, max_length=2), AfterValidator(_country)]
TimeZone = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_timezone)]
Currency = Annotated[str, Field(min_length=3, max_length=3), AfterValidator(_currency)]
Clock = Annotated[str, AfterValidator(_time), WithJsonSchema({"type": "string", "pattern": _TIME.pattern})]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DayHours(_Body):
    """One day; a field left out keeps its stored value (closed days keep their times)."""

    open: Clock | None = None
    close: Clock | None = None
    closed: bool | None = None


def _day_name(value: str) -> str:
    if value not in DAYS:
        raise ValueError(f"is not a day name ({', '.join(DAYS)})")
    return value


DayName = Annotated[str, AfterValidator(_day_name)]


def _hours_schema(schema: dict) -> None:
    """Document the day map by its seven keys (the model accepts any case)."""
    day = schema.pop("additionalProperties")
    schema.update(minProperties=1, additionalProperties=False, properties={name: day for name in DAYS})


HoursMap = Annotated[dict[DayName, DayHours], Field(json_schema_extra=_hours_schema)]


class _HoursMap(_Body):
    accepts_bare_map: ClassVar[bool] = False  # HoursBody: the body may be the day map itself

    @model_validator(mode="before")
    @classmethod
    def _prepare(cls, data: Any) -> Any:
        if cls.accepts_bare_map and isinstance(data, dict) and data and all(_day(k) in DAYS for k in data):
            data = {"opening_hours": data}
        data = _canonical(data)
        hours = data.get("opening_hours") if isinstance(data, dict) else None
        if isinstance(hours, dict):
            data["opening_hours"] = {_day(k): v for k, v in hours.items()}
        return data


class StoreFields(_HoursMap):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    address: str | None = Field(default=None, max_length=500)
    country: Country | None = None
    subdivision: str | None = Field(default=None, min_length=1, max_length=10)
    timezone: TimeZone | None = None
    currency: Currency | None = None

    def store_changes(self) -> dict[str, Any]:
        names = ("name", "address", "country", "subdivision", "timezone", "currency")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


class StoreCreate(StoreFields):
    """POST /api/settings/store: `name` is required."""

    name: str = Field(min_length=1, max_length=255)


class SaveAll(StoreFields):
    """PUT/POST /api/settings/save-all: store fields and opening hours at once."""

    opening_hours: HoursMap | None = None


class HoursBody(_HoursMap):
    """PUT /api/settings/operating-hours: `{"opening_hours": {...}}`, or the day map itself."""

    accepts_bare_map: ClassVar[bool] = True
    opening_hours: Annotated[HoursMap, Field(min_length=1)]
