"""Response helpers: bodies from JSON bytes that are already encoded (cache
hits), and API classes that extend a domain class with derived fields."""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from typing import Any, TypeVar

from sanic.response import HTTPResponse

T = TypeVar("T")


def raw_json(body: bytes, status: int = 200, headers: dict | None = None) -> HTTPResponse:
    return HTTPResponse(body, status=status, headers=headers, content_type="application/json")


def extension(base: type, cls: type[T]) -> Callable[[Any], T]:
    """A converter from an instance of the dataclass `base` to `cls`, its subclass
    whose extra fields are derived in `__post_init__` (the contract's aliases):
    the base's fields read in one C call, passed in order."""
    read = operator.attrgetter(*(f.name for f in dataclasses.fields(base)))
    return lambda obj: cls(*read(obj))
