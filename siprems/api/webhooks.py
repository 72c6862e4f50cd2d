"""`/api/webhooks`: register endpoints for events, change or delete them, read
their delivery log, send a test ping. Signature scheme: `siprems.webhooks.signing`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sanic import Blueprint, Request
from sanic.response import json
from sanic_ext import openapi

from siprems import cache
from siprems.api import docs
from siprems.api.fieldtypes import Boolean, text
from siprems.api.guard import authenticated
from siprems.api.validation import validate
from siprems.webhooks import events, registry, signing
from siprems.webhooks.registry import Delivery, NewWebhook, Webhook

bp = Blueprint("webhooks", url_prefix="/api/webhooks")

Event = registry.EventName
Url = text(min_length=8, max_length=2000)


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    url: Url = Field(description="http(s) URL; public addresses only in production")
    events: list[Event] = Field(min_length=1, max_length=len(registry.EVENTS))


class WebhookPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    url: Url = None  # type: ignore[assignment]
    events: list[Event] = Field(default=None, min_length=1, max_length=len(registry.EVENTS))  # type: ignore[assignment]
    is_active: Boolean = None  # type: ignore[assignment]

    @model_validator(mode="after")
    def _not_empty(self) -> WebhookPatch:
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class DeliveriesQuery(BaseModel):
    limit: int = Field(default=100, ge=1, le=1000)


WebhookDeleted = docs.deleted("webhook_id")


@dataclass
class PingQueued:
    delivery_id: str | None  # None: the endpoint is inactive
    message: str


SIGNATURE_DOC = (
    f"Each delivery is a POST with the event envelope as JSON and the headers {signing.HEADER}: "
    f"t=<unix seconds>,v1=<hex HMAC-SHA256(secret, '<t>.' + raw body)>, {signing.EVENT_HEADER} and "
    f"{signing.DELIVERY_HEADER} (the same on retries). Refuse timestamps more than "
    f"{signing.REPLAY_WINDOW_SECONDS} s from your clock. Any 2xx answer is success; anything else is "
    f"retried with exponential back-off."
)


def _production(request: Request) -> bool:
    return request.app.ctx.settings.is_production


async def _subscriptions_changed(request: Request) -> None:
    """Sales read which events the store's endpoints want through the cache."""
    await cache.invalidate(request.app.ctx.redis, request.ctx.store_id, cache.WEBHOOKS)


@bp.get("/")
@openapi.summary("The store's webhook endpoints")
@openapi.secured("bearerAuth")
@docs.response(200, list[Webhook])
@docs.errors(401)
@authenticated
async def list_webhooks(request: Request):
    return json(await registry.list_hooks(request.app.ctx.db, request.ctx.store_id))


@bp.post("/")
@openapi.summary("Register an endpoint for some events (the answer carries its signing secret, once)")
@openapi.description(SIGNATURE_DOC)
@openapi.secured("bearerAuth")
@docs.body(WebhookCreate)
@docs.response(201, NewWebhook)
@docs.errors(400, 401)
@authenticated
@validate(json=WebhookCreate)
async def create_webhook(request: Request, body: WebhookCreate):
    row = await registry.create(
        request.app.ctx.db, request.ctx.store_id, body.url, list(body.events), production=_production(request)
    )
    await _subscriptions_changed(request)
    return json(row, status=201)


@bp.get("/<webhook_id:int>")
@openapi.summary("One webhook endpoint")
@openapi.secured("bearerAuth")
@docs.response(200, Webhook)
@docs.errors(401, 404)
@authenticated
async def get_webhook(request: Request, webhook_id: int):
    return json(await registry.get(request.app.ctx.db, request.ctx.store_id, webhook_id))


@bp.patch("/<webhook_id:int>")
@openapi.summary("Change an endpoint's URL, events or whether it is active")
@openapi.secured("bearerAuth")
@docs.body(WebhookPatch)
@docs.response(200, Webhook)
@docs.errors(400, 401, 404)
@authenticated
@validate(json=WebhookPatch)
async def patch_webhook(request: Request, webhook_id: int, body: WebhookPatch):
    row = await registry.update(
        request.app.ctx.db, request.ctx.store_id, webhook_id, body.changes(), production=_production(request)
    )
    await _subscriptions_changed(request)
    return json(row)


@bp.delete("/<webhook_id:int>")
@openapi.summary("Delete an endpoint and its delivery log")
@openapi.secured("bearerAuth")
@docs.response(200, WebhookDeleted)
@docs.errors(401, 404)
@authenticated
async def delete_webhook(request: Request, webhook_id: int):
    await registry.delete(request.app.ctx.db, request.ctx.store_id, webhook_id)
    await _subscriptions_changed(request)
    return json(WebhookDeleted("Webhook deleted", webhook_id))


@bp.get("/<webhook_id:int>/deliveries")
@openapi.summary("The endpoint's deliveries, newest first, with every attempt")
@openapi.secured("bearerAuth")
@docs.query(DeliveriesQuery)
@docs.response(200, list[Delivery])
@docs.errors(400, 401, 404)
@authenticated
@validate(query=DeliveriesQuery)
async def list_deliveries(request: Request, webhook_id: int, query: DeliveriesQuery):
    return json(await registry.deliveries(request.app.ctx.db, request.ctx.store_id, webhook_id, query.limit))


@bp.post("/<webhook_id:int>/ping")
@openapi.summary("Send a signed `ping` event to this endpoint now (a delivery like any other)")
@openapi.secured("bearerAuth")
@docs.response(202, PingQueued)
@docs.errors(401, 404)
@authenticated
async def ping(request: Request, webhook_id: int):
    ctx, store_id = request.app.ctx, request.ctx.store_id
    hook = await registry.get(ctx.db, store_id, webhook_id)
    ids = await events.emit(ctx.db, ctx.queue, store_id, "ping", {"webhook_id": hook.webhook_id}, webhook_id=webhook_id)
    return json(PingQueued(ids[0] if ids else None, "Ping queued."), status=202)
