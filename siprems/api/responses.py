"""Responses built from JSON bytes that are already encoded (cache hits)."""

from __future__ import annotations

from sanic.response import HTTPResponse


def raw_json(body: bytes, status: int = 200, headers: dict | None = None) -> HTTPResponse:
    return HTTPResponse(body, status=status, headers=headers, content_type="application/json")
