"""Check real responses against the schemas /docs/openapi.json declares for them.

The schemas are generated from the response classes, so this checks the one
definition against what the handlers send. Checked closed: an object may hold
only the fields its class declares (a field added to a body but not to its
class fails), and every declared field must be present with its type."""

from __future__ import annotations

import re
from typing import Any

import httpx
import jsonschema


def _closed(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _closed(v) for k, v in node.items()}
        if node.get("type") == "object" and "properties" in node:
            node.setdefault("additionalProperties", False)
        return node
    if isinstance(node, list):
        return [_closed(v) for v in node]
    return node


class Shapes:
    def __init__(self, doc: dict):
        # Literal templates first: /api/products/stats before /api/products/{sku}.
        templates = sorted(doc["paths"], key=lambda t: t.count("{"))
        self.routes = [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", t) + "/?$"), doc["paths"][t]) for t in templates]

    def schema(self, method: str, path: str, status: int) -> dict:
        for pattern, operations in self.routes:
            if pattern.match(path) and method.lower() in operations:
                responses = operations[method.lower()]["responses"]
                assert str(status) in responses, f"{method} {path}: status {status} is not documented"
                return _closed(responses[str(status)]["content"]["application/json"]["schema"])
        raise AssertionError(f"{method} {path} is not in the OpenAPI document")

    def check(self, r: httpx.Response, status: int = 200) -> Any:
        """The body of `r` (answered with `status`), after checking it against its documented schema."""
        assert r.status_code == status, (r.status_code, r.text)
        body = r.json()
        schema = self.schema(r.request.method, r.request.url.path, status)
        jsonschema.validate(body, schema)
        return body
