"""Strict pydantic field types for request bodies and queries.

sanic-ext validates in pydantic's lax mode (it passes `strict=False`, which
overrides `StrictInt`/`StrictBool`), so "2", 1.0 and true would pass as the
integer 2/1/1. These types check the JSON type themselves.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainValidator,
    WithJsonSchema,
)

from siprems.calendar.locale import parse_iso_date


def _whole_number(value: Any) -> int:
    if type(value) is not int:  # bool is a subclass of int: rejected too
        raise ValueError("must be a whole number")
    return value


def _boolean(value: Any) -> bool:
    if type(value) is not bool:
        raise ValueError("must be true or false")
    return value


def _no_nul(value: str) -> str:
    if "\x00" in value:  # PostgreSQL text cannot hold NUL
        raise ValueError("must not contain NUL characters")
    return value


def text(*, min_length: int | None = None, max_length: int | None = None) -> Any:
    """A string PostgreSQL can store, within the length bounds."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length), AfterValidator(_no_nul)]


def whole_number(*, ge: int | None = None, le: int | None = None) -> Any:
    """An integer (not a string, float or bool) within [ge, le]. The bounds go
    before the validator so they show up in the JSON schema as minimum/maximum."""
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(_whole_number)]


Boolean = Annotated[bool, BeforeValidator(_boolean)]

# Exactly YYYY-MM-DD in, `datetime.date` out.
IsoDate = Annotated[
    date, PlainValidator(parse_iso_date), WithJsonSchema({"type": "string", "format": "date", "example": "2026-08-17"})
]
