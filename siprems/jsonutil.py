"""JSON via orjson. NUMERIC money arrives as Decimal: it is serialised as a
JSON number (the frontend's types are numbers); arithmetic stays in SQL or
Decimal, never float."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import orjson
from pydantic import ConfigDict, WithJsonSchema

loads = orjson.loads

# A NUMERIC column in a response dataclass: a Decimal, documented (and sent) as a number.
Number = Annotated[Decimal, WithJsonSchema({"type": "number"})]
# `__pydantic_config__ = DOCUMENTED` in a response dataclass: its attribute docstrings describe
# the fields, and a field with a default is still required (every field is always sent).
DOCUMENTED = ConfigDict(use_attribute_docstrings=True, json_schema_serialization_defaults_required=True)


def _default(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 else float(value)
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value, **_: object) -> bytes:
    return orjson.dumps(value, default=_default, option=orjson.OPT_NON_STR_KEYS)


def dumps_str(value) -> str:
    return dumps(value).decode()
