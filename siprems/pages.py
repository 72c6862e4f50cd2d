"""One page of a paginated list, as the domain returns it and the API answers it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    items: list[T]
    total: int  # in the whole list
    limit: int
    offset: int
