"""OpenAPI helpers: document request and response bodies from their classes.

A request body is a pydantic model; a response body is a dataclass (or a
list of them): the one definition of its shape, which orjson serialises
natively (no pydantic per request). Response dataclasses have no `__slots__`:
orjson reads a dataclass's `__dict__` at once, slots field by field (~3x
slower). Each schema is generated once, at import, by a pydantic TypeAdapter
and inlined, so `$ref`s never point at a misplaced `definitions`."""

from __future__ import annotations

from dataclasses import dataclass, make_dataclass
from typing import Any, Literal

from pydantic import TypeAdapter
from sanic_ext import openapi
from sanic_ext.extensions.openapi.types import Schema


class RawSchema(Schema):
    """A ready JSON schema dict passed through to the document as-is."""

    def __init__(self, schema: dict):
        self._raw = schema

    def serialize(self) -> dict:
        return self._raw


def _inline(schema: dict) -> dict:
    """Inline `$defs` references so the schema is self-contained; drop the
    generated titles ("Supplier Id"), which only repeat the names."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(dict(defs[ref.split("/")[-1]]))
            return {k: walk(v) for k, v in node.items() if not (k == "title" and isinstance(v, str))}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


def schema_of(shape: Any, mode: Literal["validation", "serialization"] = "validation") -> dict:
    """The JSON schema of a type (a pydantic model, a dataclass, `list[...]`);
    a dict is taken as a ready schema."""
    if isinstance(shape, dict):
        return shape
    return _inline(TypeAdapter(shape).json_schema(mode=mode))


def body(model: Any, *, content_type: str = "application/json", description: str = ""):
    return openapi.body({content_type: RawSchema(schema_of(model))}, description=description, required=True)


def response(status: int, shape: Any = None, description: str = ""):
    """Document the JSON body answered with `status`: the class the handler returns."""
    schema = schema_of(shape, "serialization") if shape is not None else {"type": "object"}
    return openapi.response(status, {"application/json": RawSchema(schema)}, description or str(status))


def deleted(id_field: str) -> type:
    """The class of what a DELETE answers: a message and the id of what is gone."""
    return make_dataclass(f"Deleted_{id_field}", [("message", str), (id_field, int)])


@dataclass
class Error:
    """Every error body (siprems/api/errors.py)."""

    error: str
    message: str


@dataclass
class Message:
    """A confirmation without data, e.g. after a delete (the frontend needs a JSON body)."""

    message: str


ERROR = schema_of(Error, "serialization")


def errors(*statuses: int):
    """Document the JSON error body for each status."""

    def decorator(handler):
        for status in statuses:
            handler = response(status, ERROR, "Error")(handler)
        return handler

    return decorator


def query(model: Any):
    """Document each field of a pydantic query model as a query parameter."""
    schema = schema_of(model)
    required = set(schema.get("required", []))

    def decorator(handler):
        for name, prop in schema.get("properties", {}).items():
            prop = dict(prop)
            description = prop.pop("description", "")
            handler = openapi.parameter(
                name, RawSchema(prop), "query", required=name in required, description=description
            )(handler)
        return handler

    return decorator
