"""OpenAPI helpers: document request and response bodies from pydantic models
(inline JSON schemas, so `$ref`s never point at a misplaced `definitions`)."""

from __future__ import annotations

from typing import Any

from sanic_ext import openapi
from sanic_ext.extensions.openapi.types import Schema


class RawSchema(Schema):
    """A ready JSON schema dict passed through to the document as-is."""

    def __init__(self, schema: dict):
        self._raw = schema

    def serialize(self) -> dict:
        return self._raw


def _inline(schema: dict) -> dict:
    """Inline `$defs` references so the schema is self-contained."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(dict(defs[ref.split("/")[-1]]))
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


def schema_of(model_or_schema: Any) -> dict:
    if isinstance(model_or_schema, dict):
        return model_or_schema
    return _inline(model_or_schema.model_json_schema())


def body(model: Any, *, content_type: str = "application/json", description: str = ""):
    return openapi.body({content_type: RawSchema(schema_of(model))}, description=description, required=True)


def response(status: int, model: Any = None, description: str = ""):
    schema = schema_of(model) if model is not None else {"type": "object"}
    return openapi.response(status, {"application/json": RawSchema(schema)}, description or str(status))


ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
}


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
