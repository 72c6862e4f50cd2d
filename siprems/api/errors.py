"""One error handler for the whole app: every error is JSON
`{"error": <code>, "message": <sentence>}`; no stack trace, SQL or path ever
reaches a client (the log has them, with the request id)."""

from __future__ import annotations

import asyncio
import logging

import psycopg2
import pydantic
import redis.exceptions
from sanic import Request
from sanic.exceptions import SanicException
from sanic.handlers import ErrorHandler
from sanic.response import JSONResponse, json
from sanic_ext.exceptions import ValidationError as SanicExtValidationError

from siprems.errors import ApiError

log = logging.getLogger("siprems.errors")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
    503: "service_unavailable",
}

_MESSAGES = {
    404: "The requested URL was not found on this server.",
    405: "This method is not allowed for the requested URL.",
    408: "The request took too long to arrive.",
    413: "The request body is too large.",
}


def error_response(
    status: int, code: str, message: str, headers: dict | None = None, extra: dict | None = None
) -> JSONResponse:
    body = {"error": code, "message": message}
    if extra:
        body.update(extra)
    return json(body, status=status, headers=headers)


class JsonErrorHandler(ErrorHandler):
    def default(self, request: Request, exception: BaseException) -> JSONResponse:
        request_id = getattr(getattr(request, "ctx", None), "request_id", "-") if request else "-"
        if isinstance(exception, ApiError):
            return error_response(
                exception.status, exception.code, exception.message, exception.headers, exception.extra
            )
        if isinstance(exception, pydantic.ValidationError):
            message, details = validation_message(exception.errors())
            return error_response(400, "validation_error", message, extra={"details": details})
        if isinstance(exception, SanicExtValidationError):
            message, details = validation_message(_parse_pydantic_text(exception))
            return error_response(400, "validation_error", message, extra={"details": details})
        if isinstance(exception, SanicException):
            status = getattr(exception, "status_code", 500) or 500
            if status < 500:
                message = _MESSAGES.get(status) or _client_message(exception, status)
                return error_response(status, _CODES.get(status, "error"), message, getattr(exception, "headers", None))
            if status == 503:
                return error_response(503, "service_unavailable", "The service is temporarily unavailable.")
        if isinstance(exception, ValueError) and "NUL (0x00)" in str(exception):
            # psycopg2 refuses NUL characters in text before anything is sent.
            return error_response(400, "validation_error", "Text fields must not contain NUL (\\u0000) characters.")
        if isinstance(exception, (psycopg2.OperationalError, psycopg2.InterfaceError)) or _is_pool_timeout(exception):
            log.warning("database unavailable request_id=%s: %r", request_id, exception)
            return error_response(
                503,
                "database_unavailable",
                "The database is temporarily unavailable; please retry shortly.",
                {"Retry-After": "2"},
            )
        if isinstance(exception, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
            log.warning("redis unavailable request_id=%s: %r %s", request_id, exception, exception)
            return error_response(
                503,
                "redis_unavailable",
                "A backing service is temporarily unavailable; please retry shortly.",
                {"Retry-After": "2"},
            )
        log.error(
            "unhandled error request_id=%s path=%s", request_id, getattr(request, "path", "?"), exc_info=exception
        )
        return error_response(500, "internal_error", f"An unexpected error occurred (request id {request_id}).")


def _client_message(exception: SanicException, status: int) -> str:
    text = str(exception.args[0]) if exception.args else ""
    if status == 400 and ("JSON" in text or "json" in text):
        return "The request body is not valid JSON."
    return text or "The request could not be processed."


def _is_pool_timeout(exception: BaseException) -> bool:
    return isinstance(exception, (asyncio.TimeoutError, TimeoutError))


_FRIENDLY = {"Field required": "is required", "Extra inputs are not permitted": "is not a recognised field"}


def _parse_pydantic_text(exc: SanicExtValidationError) -> list[dict]:
    """sanic-ext re-raises pydantic errors as text (`from None`); recover
    (field, message) pairs from pydantic's stable text layout."""
    text = (getattr(exc, "extra", None) or {}).get("exception") or str(exc)
    errors, loc = [], ()
    for line in text.splitlines()[1:]:
        if not line.strip() or line.startswith("    "):
            continue
        if line.startswith("  "):
            msg = line.strip().split(" [type=", 1)[0]
            errors.append(
                {
                    "loc": loc,
                    "msg": _FRIENDLY.get(msg, msg),
                    # a model-level ValueError keeps its own message
                    "type": "model_type" if not loc and "type=value_error" not in line else "text",
                }
            )
            loc = ()
        else:
            loc = tuple(line.strip().split("."))
    return errors or [{"loc": (), "msg": "is invalid", "type": "text"}]


def validation_message(errors: list[dict]) -> tuple[str, list[dict]]:
    """A sentence naming the offending field(s) of a pydantic validation failure."""
    details = []
    for err in errors:
        field = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__") or "body"
        msg = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
        if err.get("type") == "missing":
            msg = "is required"
        elif err.get("type") == "extra_forbidden":
            msg = "is not a recognised field"
        elif err.get("type") in ("model_type", "dict_type") and field == "body":
            field, msg = "body", "must be a JSON object"
        details.append({"field": field, "message": msg})
    first = details[0] if details else {"field": "body", "message": "is invalid"}
    text = first["message"]
    text = ": " + text[:1].lower() + text[1:] if not text.startswith(("is ", "must ")) else " " + text
    more = f" (and {len(details) - 1} more problem{'s' if len(details) > 2 else ''})" if len(details) > 1 else ""
    return f"Field '{first['field']}'{text}{more}.", details
