"""Webhook signatures (what a receiver checks).

Every delivery carries

    X-Siprems-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
    X-Siprems-Event: <event name>
    X-Siprems-Delivery: <delivery id>   (the same on every retry: deduplicate on it)

A receiver recomputes the HMAC over the timestamp, a dot and the raw body
bytes with its endpoint's secret, compares in constant time, and refuses a
timestamp more than REPLAY_WINDOW_SECONDS away from its clock (a captured
request cannot be replayed later). Each attempt is signed afresh."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

HEADER = "X-Siprems-Signature"
EVENT_HEADER = "X-Siprems-Event"
DELIVERY_HEADER = "X-Siprems-Delivery"
REPLAY_WINDOW_SECONDS = 300


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return mac.hexdigest()


def header_value(secret: str, body: bytes, now: float | None = None) -> str:
    timestamp = int(time.time() if now is None else now)
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, now: float | None = None) -> bool:
    """True if `header` signs `body` with `secret` within the replay window."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > REPLAY_WINDOW_SECONDS:
        return False
    return hmac.compare_digest(parts.get("v1", ""), signature(secret, timestamp, body))
