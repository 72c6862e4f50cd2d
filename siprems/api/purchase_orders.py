"""`/api/purchase-orders`: draft from the restock advice, list, get, edit a
draft, submit, receive (into stock through the ledger), cancel. A state change
the order's status does not allow answers 409 `invalid_state`."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sanic import Blueprint, Request
from sanic.response import json
from sanic_ext import openapi

from siprems import cache, idempotency
from siprems.api import docs
from siprems.api.fieldtypes import text, whole_number
from siprems.api.guard import authenticated, caller_locale
from siprems.api.validation import validate
from siprems.purchasing import advice, orders
from siprems.purchasing.orders import Drafted, PurchaseOrder
from siprems.webhooks import events

bp = Blueprint("purchase_orders", url_prefix="/api/purchase-orders")

Sku = text(min_length=1, max_length=100)
Quantity = whole_number(ge=1, le=1_000_000)
Cost = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DraftBody(_Input):
    horizon_days: whole_number(ge=1, le=365) = Field(default=14, description="restock advice horizon")  # type: ignore[assignment]


class ListQuery(BaseModel):
    status: orders.Status | None = None


class DraftLine(_Input):
    product_sku: Sku
    quantity: Quantity = Field(description="rounded up to whole packs")
    unit_cost: Cost | None = Field(default=None, description="default: the product's cost price")


class OrderPatch(_Input):
    notes: text(max_length=2000) | None = None
    lines: list[DraftLine] = Field(default=None, min_length=1, max_length=1000)  # type: ignore[assignment]

    @model_validator(mode="after")
    def _check(self) -> OrderPatch:
        if not self.model_fields_set:
            raise ValueError("send notes or lines")
        if self.lines is not None:
            skus = [line.product_sku for line in self.lines]
            if len(set(skus)) != len(skus):
                raise ValueError("a product appears twice in lines")
        return self

    def changes(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "notes" in self.model_fields_set:
            out["notes"] = self.notes
        if self.lines is not None:
            out["lines"] = [line.model_dump(exclude_unset=True) for line in self.lines]
        return out


class ReceiptLine(_Input):
    product_sku: Sku
    quantity: Quantity


class ReceiveBody(_Input):
    lines: list[ReceiptLine] = Field(min_length=1, max_length=1000)


async def _changed(request: Request) -> None:
    # Stock and on-order quantities feed cached products, stats and restock advice.
    await cache.invalidate(request.app.ctx.redis, request.ctx.store_id, cache.CATALOG)


@bp.post("/draft")
@openapi.summary("Draft one purchase order per supplier from the current restock advice")
@openapi.description(
    "Products with a recommended restock and a preferred supplier become lines: the quantity "
    "rounded up to whole packs, at the product's cost price. Products without a supplier are listed "
    "in without_supplier."
)
@openapi.secured("bearerAuth")
@docs.body(DraftBody)
@docs.response(201, Drafted)
@docs.errors(400, 401)
@authenticated
@validate(json=DraftBody)
async def draft(request: Request, body: DraftBody):
    ctx, store_id = request.app.ctx, request.ctx.store_id
    items = await advice.restock_list(ctx.db, store_id, body.horizon_days)
    result = await orders.draft_from_advice(ctx.db, store_id, items)
    return json(result, status=201)


@bp.get("/")
@openapi.summary("The store's purchase orders, newest first")
@openapi.secured("bearerAuth")
@docs.query(ListQuery)
@docs.response(200, list[PurchaseOrder])
@docs.errors(400, 401)
@authenticated
@validate(query=ListQuery)
async def list_orders(request: Request, query: ListQuery):
    return json(await orders.list_orders(request.app.ctx.db, request.ctx.store_id, query.status))


@bp.get("/<po_id:int>")
@openapi.summary("One purchase order with its lines")
@openapi.secured("bearerAuth")
@docs.response(200, PurchaseOrder)
@docs.errors(401, 404)
@authenticated
async def get_order(request: Request, po_id: int):
    return json(await orders.get_order(request.app.ctx.db, request.ctx.store_id, po_id))


@bp.patch("/<po_id:int>")
@openapi.summary("Edit a draft: notes, and lines (replaced as a whole; quantities rounded to packs)")
@openapi.secured("bearerAuth")
@docs.body(OrderPatch)
@docs.response(200, PurchaseOrder)
@docs.errors(400, 401, 404, 409)
@authenticated
@validate(json=OrderPatch)
async def patch_order(request: Request, po_id: int, body: OrderPatch):
    return json(await orders.update_draft(request.app.ctx.db, request.ctx.store_id, po_id, body.changes()))


@bp.post("/<po_id:int>/submit")
@openapi.summary("Send a draft: status ordered, expected date = today + the supplier's lead time")
@openapi.secured("bearerAuth")
@docs.response(200, PurchaseOrder)
@docs.errors(401, 404, 409)
@authenticated
async def submit(request: Request, po_id: int):
    today = (await caller_locale(request)).today()
    order = await orders.submit(request.app.ctx.db, request.ctx.store_id, po_id, today)
    await _changed(request)
    return json(order)


@bp.post("/<po_id:int>/receive")
@openapi.summary("Receive goods (part or all): receipt movements into stock, status partially_received/received")
@openapi.description(
    "An `Idempotency-Key` header makes a retry safe: the same key and body replay the first answer "
    "(`Idempotent-Replayed: true`) instead of receiving the goods twice."
)
@openapi.secured("bearerAuth")
@openapi.parameter("Idempotency-Key", str, "header", description="retry-safe key")
@docs.body(ReceiveBody)
@docs.response(200, PurchaseOrder)
@docs.errors(400, 401, 404, 409, 422)
@authenticated
@validate(json=ReceiveBody)
async def receive(request: Request, po_id: int, body: ReceiveBody):
    ctx, store_id = request.app.ctx, request.ctx.store_id
    lines = [line.model_dump() for line in body.lines]

    async def effect(cur):
        return 200, await orders.receive_on(cur, store_id, po_id, lines, request.ctx.identity.user_id)

    outcome = await idempotency.run_once(
        ctx.db,
        store_id=store_id,
        scope=f"purchase_orders.receive:{po_id}",
        key=idempotency.key_from(request.headers),
        request_hash=idempotency.fingerprint(request.json),
        ttl_seconds=ctx.settings.idempotency_ttl_seconds,
        effect=effect,
    )
    if outcome.replayed:
        return json(outcome.body, status=outcome.status, headers={"Idempotent-Replayed": "true"})
    await _changed(request)
    await events.emit_quietly(ctx.db, ctx.queue, store_id, "purchase_order.received", {"purchase_order": outcome.body})
    return json(outcome.body, status=outcome.status)


@bp.post("/<po_id:int>/cancel")
@openapi.summary("Cancel an order that is not received yet (what was received stays in stock)")
@openapi.secured("bearerAuth")
@docs.response(200, PurchaseOrder)
@docs.errors(401, 404, 409)
@authenticated
async def cancel(request: Request, po_id: int):
    order = await orders.cancel(request.app.ctx.db, request.ctx.store_id, po_id)
    await _changed(request)
    return json(order)
