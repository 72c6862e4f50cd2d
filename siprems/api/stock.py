"""`/api/stock`: adjustments and stocktakes, and the ledger of stock movements
(`siprems.inventory.ledger`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sanic import Blueprint, Request
from sanic.response import json
from sanic_ext import openapi

from siprems import cache
from siprems.api import docs
from siprems.api.fieldtypes import text, whole_number
from siprems.api.guard import authenticated, caller_locale
from siprems.api.paging import DayRangePage
from siprems.api.validation import validate
from siprems.inventory import ledger
from siprems.pages import Page

bp = Blueprint("stock", url_prefix="/api/stock")

Sku = text(min_length=1, max_length=100)


class AdjustmentBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    product_sku: Sku
    delta: whole_number(ge=-1_000_000, le=1_000_000) | None = Field(
        None, description="Units to add (negative: remove); an `adjustment`"
    )
    counted: whole_number(ge=0, le=10_000_000) | None = Field(
        None, description="Units counted on the shelf; a `stocktake` (delta = counted - stock)"
    )
    reason: text(min_length=1, max_length=ledger.MAX_REASON) = Field(description="Why (damaged, found, count, ...)")

    @model_validator(mode="after")
    def _one_of(self):
        if (self.delta is None) == (self.counted is None):
            raise ValueError("send exactly one of delta or counted")
        if self.delta == 0:
            raise ValueError("delta must not be 0 (send counted for a stocktake that matched)")
        return self


class MovementsQuery(DayRangePage):
    sku: Sku | None = Field(None, description="Only this product")
    reason: text(min_length=1, max_length=100) | None = Field(
        None, description="A kind (" + ", ".join(ledger.KINDS) + ") or words of the reason text"
    )


@bp.post("/adjustments")
@openapi.summary("Adjust a product's stock by a delta, or set it to a counted quantity (stocktake)")
@openapi.description(
    "Exactly one of `delta` (an `adjustment`) or `counted` (a `stocktake`: delta = counted - stock, "
    "under a row lock). 409 when the stock would go below zero, naming `available`."
)
@openapi.secured("bearerAuth")
@docs.body(AdjustmentBody)
@docs.response(201, ledger.Movement)
@docs.errors(400, 401, 403, 404, 409)
@authenticated
@validate(json=AdjustmentBody)
async def create_adjustment(request: Request, body: AdjustmentBody):
    ctx = request.app.ctx
    change = ledger.Adjustment(body.product_sku, body.delta, body.counted, body.reason)
    moved = await ledger.adjust(ctx.db, request.ctx.store_id, request.ctx.identity.user_id, change)
    await cache.invalidate(ctx.redis, request.ctx.store_id, cache.CATALOG)
    return json(moved, status=201)


@bp.get("/movements")
@openapi.summary("The stock ledger, newest first (paginated)")
@openapi.secured("bearerAuth")
@docs.query(MovementsQuery)
@docs.response(200, Page[ledger.Movement])
@docs.errors(400, 401, 403)
@authenticated
@validate(query=MovementsQuery)
async def list_movements(request: Request, query: MovementsQuery):
    start, end = query.instants(await caller_locale(request))
    q = ledger.MovementQuery(
        sku=query.sku,
        start=start,
        end=end,
        reason=query.reason,
        limit=query.limit,
        offset=query.offset,
    )
    return json(await ledger.list_movements(request.app.ctx.db, request.ctx.store_id, q))
