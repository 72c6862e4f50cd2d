"""Structured JSON logs: one object per line on stderr."""

from __future__ import annotations

import logging
import os
import sys
import time

import orjson

_RESERVED = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": os.getpid(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("LOG_LEVEL", "INFO"))
    for name in ("sanic.root", "sanic.error", "sanic.access", "sanic.server"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True


def sanic_log_config() -> dict:
    """Sanic's loggers (and ours) as JSON lines on stderr, in every worker."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "siprems.logs.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"level": os.environ.get("LOG_LEVEL", "INFO"), "handlers": ["stderr"]},
        "loggers": {
            name: {"level": "INFO", "handlers": [], "propagate": True}
            for name in ("sanic.root", "sanic.error", "sanic.access", "sanic.server", "sanic.websockets")
        },
    }
