"""A store's webhook endpoints and their delivery log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from siprems.db import Pool, fetch_all, fetch_one, is_id
from siprems.errors import NotFound
from siprems.jsonutil import DOCUMENTED
from siprems.webhooks import signing, urls

EventName = Literal[
    "stock.low", "stock.out", "sale.created", "purchase_order.received", "forecast.ready", "stock.digest"
]
EVENTS: tuple[EventName, ...] = get_args(EventName)
COLUMNS = "webhook_id, url, events, is_active, created_at, updated_at"
DELIVERY = "delivery_id, event, status, attempt_count, attempts, payload, created_at, delivered_at, updated_at"


@dataclass
class Webhook:
    webhook_id: int
    url: str
    events: list[EventName]
    is_active: bool
    created_at: datetime
    updated_at: datetime


@dataclass
class NewWebhook(Webhook):
    __pydantic_config__ = DOCUMENTED

    secret: str
    """shown once: the HMAC key of the signatures"""
    signature_header: str
    """the request header that carries the signature"""


@dataclass
class Delivery:
    delivery_id: str
    event: str  # an EventName, or "ping"
    status: Literal["pending", "retrying", "succeeded", "failed"]
    attempt_count: int
    attempts: list[dict[str, Any]]
    payload: dict[str, Any]
    created_at: datetime
    delivered_at: datetime | None
    updated_at: datetime


def not_found(webhook_id: int) -> NotFound:
    return NotFound(f"Webhook {webhook_id} not found", code="webhook_not_found")


async def create(pool: Pool, store_id: int, url: str, events: list[str], *, production: bool) -> NewWebhook:
    await urls.resolve(url, production=production)
    row = await fetch_one(
        pool,
        f"""INSERT INTO webhooks (store_id, url, events, secret) VALUES (%s, %s, %s, %s)
            RETURNING {COLUMNS}, secret""",
        (store_id, url, sorted(set(events)), signing.new_secret()),
    )
    assert row is not None
    return NewWebhook(**row, signature_header=signing.HEADER)  # the only answer that shows the secret


async def list_hooks(pool: Pool, store_id: int) -> list[Webhook]:
    rows = await fetch_all(pool, f"SELECT {COLUMNS} FROM webhooks WHERE store_id = %s ORDER BY webhook_id", (store_id,))
    return [Webhook(**row) for row in rows]


async def get(pool: Pool, store_id: int, webhook_id: int) -> Webhook:
    if not is_id(webhook_id):
        raise not_found(webhook_id)
    row = await fetch_one(
        pool, f"SELECT {COLUMNS} FROM webhooks WHERE store_id = %s AND webhook_id = %s", (store_id, webhook_id)
    )
    if row is None:
        raise not_found(webhook_id)
    return Webhook(**row)


async def update(pool: Pool, store_id: int, webhook_id: int, changes: dict[str, Any], *, production: bool) -> Webhook:
    if not is_id(webhook_id):
        raise not_found(webhook_id)
    if "url" in changes:
        await urls.resolve(changes["url"], production=production)
    if "events" in changes:
        changes = {**changes, "events": sorted(set(changes["events"]))}
    sets = [f"{name} = %({name})s" for name in ("url", "events", "is_active") if name in changes]
    row = await fetch_one(
        pool,
        f"""UPDATE webhooks SET {", ".join(sets)}, updated_at = now()
            WHERE store_id = %(store)s AND webhook_id = %(hook)s RETURNING {COLUMNS}""",
        {**changes, "store": store_id, "hook": webhook_id},
    )
    if row is None:
        raise not_found(webhook_id)
    return Webhook(**row)


async def delete(pool: Pool, store_id: int, webhook_id: int) -> None:
    if not is_id(webhook_id):
        raise not_found(webhook_id)
    row = await fetch_one(
        pool,
        "DELETE FROM webhooks WHERE store_id = %s AND webhook_id = %s RETURNING webhook_id",
        (store_id, webhook_id),
    )
    if row is None:
        raise not_found(webhook_id)


async def deliveries(pool: Pool, store_id: int, webhook_id: int, limit: int = 100) -> list[Delivery]:
    await get(pool, store_id, webhook_id)
    rows = await fetch_all(
        pool,
        f"""SELECT {DELIVERY} FROM webhook_deliveries WHERE store_id = %s AND webhook_id = %s
            ORDER BY created_at DESC, delivery_id LIMIT %s""",
        (store_id, webhook_id, limit),
    )
    return [Delivery(**row) for row in rows]
