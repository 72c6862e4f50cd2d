"""`/api/transactions`: list and get sale lines, sell one line, check out a cart.

Both POSTs honour an `Idempotency-Key` header (see `siprems.idempotency`):
a retry with the same key and body replays the first answer, with the
`Idempotent-Replayed: true` header; the same key with another body is a 422.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sanic import Blueprint, Request
from sanic.response import json
from sanic_ext import openapi

from siprems import cache, idempotency
from siprems.api import docs
from siprems.api.daily_cache import cached_for_today
from siprems.api.fieldtypes import Boolean, IsoDate, text, whole_number
from siprems.api.guard import authenticated, caller_locale
from siprems.api.responses import raw_json
from siprems.api.validation import validate
from siprems.calendar.locale import check_year
from siprems.errors import ValidationFailed
from siprems.sales import ledger, selling
from siprems.sales.ledger import TxRow
from siprems.team import roles
from siprems.webhooks import sale_events

bp = Blueprint("transactions", url_prefix="/api/transactions")

Sku = text(min_length=1, max_length=100)
Quantity = whole_number(ge=1, le=100_000)
EARLIEST_SALE = date(2000, 1, 1)
CLOCK_SKEW = timedelta(minutes=5)


class ListQuery(BaseModel):
    limit: int = Field(100, ge=1, le=1000, description="Rows to return (1-1000, default 100)")
    offset: int = Field(0, ge=0, le=1_000_000, description="Rows to skip")
    start_date: IsoDate | None = Field(None, description="First local day, YYYY-MM-DD (inclusive)")
    end_date: IsoDate | None = Field(None, description="Last local day, YYYY-MM-DD (inclusive)")

    @field_validator("end_date")
    @classmethod
    def _ordered(cls, end: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start_date")
        if end is not None and start is not None and start > end:
            raise ValueError("must not be before start_date")
        return end


class SaleBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    product_sku: Sku
    quantity: Quantity
    price: Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)] | None = Field(
        None, description="Unit price; default: the product's current price"
    )
    is_promo: Boolean = False
    transaction_date: str | None = Field(
        None,
        description="When the sale happened: YYYY-MM-DD or ISO 8601 date-time (store time zone if "
        "no offset); default now. Not in the future.",
    )

    @field_validator("transaction_date")
    @classmethod
    def _when(cls, value: str | None) -> str | None:
        if value is not None:
            _parse_when(value)
        return value


def _parse_when(value: str) -> date | datetime:
    try:
        when = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be YYYY-MM-DD or an ISO 8601 date-time") from None
    check_year(when if not isinstance(when, datetime) else when.date())
    return when


class CartProduct(BaseModel):
    """The frontend's Product; only `id` (the SKU) is read, the rest is ignored."""

    model_config = ConfigDict(extra="ignore")
    id: Sku


class CartItem(BaseModel):
    model_config = ConfigDict(extra="ignore")
    product: CartProduct | None = None
    product_id: Sku | None = Field(None, description="The product SKU (alternative to product.id)")
    quantity: Quantity

    @model_validator(mode="after")
    def _one_sku(self):
        if self.product is None and self.product_id is None:
            raise ValueError("needs product.id or product_id (the product SKU)")
        if self.product is not None and self.product_id is not None and self.product.id != self.product_id:
            raise ValueError("product.id and product_id name different products")
        return self

    @property
    def sku(self) -> str:
        return self.product.id if self.product is not None else self.product_id


class CheckoutBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[CartItem] = Field(min_length=1, max_length=500)
    subtotal: float | None = Field(None, description="Ignored: totals are computed from database prices")
    tax: float | None = Field(None, description="Ignored")
    total: float | None = Field(None, description="Ignored")


IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": idempotency.MAX_KEY_LENGTH},
    "description": "Retry-safe key: the same key and body replay the first answer.",
}


def _idempotency_header(handler):
    return openapi.parameter(
        "Idempotency-Key",
        docs.RawSchema(IDEMPOTENCY_HEADER["schema"]),
        "header",
        description=IDEMPOTENCY_HEADER["description"],
    )(handler)


@bp.get("")
@openapi.summary("List sale lines, newest first")
@openapi.secured("bearerAuth")
@docs.query(ListQuery)
@docs.response(200, list[TxRow])
@docs.errors(400, 401)
@authenticated
@validate(query=ListQuery)
async def list_transactions(request: Request, query: ListQuery):
    db = request.app.ctx.db
    sold_by = _own_sales_only(request)
    # Per role scope: a cashier's entry holds only their own sales of today (until local midnight).
    scope = "all" if sold_by is None else f"user{sold_by}"
    name = f"sales:{scope}:{query.limit}:{query.offset}:{query.start_date}:{query.end_date}"

    def load(locale):
        return ledger.list_sales(
            db,
            locale,
            limit=query.limit,
            offset=query.offset,
            start=query.start_date,
            end=query.end_date,
            sold_by=sold_by,
        )

    # Sales and product renames (the lines carry the product's name) bump SALES / CATALOG.
    return raw_json(await cached_for_today(request, (cache.SALES, cache.CATALOG), name, load))


@bp.get("/<transaction_id:int>")
@openapi.summary("One sale line")
@openapi.secured("bearerAuth")
@docs.response(200, TxRow)
@docs.errors(401, 404)
@authenticated
async def get_transaction(request: Request, transaction_id: int):
    db = request.app.ctx.db
    locale = await caller_locale(request)
    return json(await ledger.get_sale(db, locale, transaction_id, _own_sales_only(request)))


def _own_sales_only(request: Request) -> int | None:
    """A cashier sees only their own sales of today (siprems.team.roles)."""
    identity = request.ctx.identity
    return identity.user_id if roles.sees_only_own_sales_today(identity.role) else None


async def _run(request: Request, scope: str, effect) -> object:
    ctx = request.app.ctx
    outcome = await idempotency.run_once(
        ctx.db,
        store_id=request.ctx.store_id,
        scope=scope,
        key=idempotency.key_from(request.headers),
        request_hash=idempotency.fingerprint(request.json),
        ttl_seconds=ctx.settings.idempotency_ttl_seconds,
        effect=effect,
    )
    if not outcome.replayed:  # stock and sales changed; events, settings and forecasts did not
        await cache.invalidate(ctx.redis, request.ctx.store_id, cache.CATALOG, cache.SALES)
        # Webhook events after the response: they never slow down or fail a sale.
        request.app.add_task(sale_events.after_sale(ctx.db, ctx.queue, ctx.redis, request.ctx.store_id, outcome.body))
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return json(outcome.body, status=outcome.status, headers=headers)


@bp.post("")
@openapi.summary("Sell one product line (decrements stock)")
@openapi.description(
    "409 when the stock is insufficient (the body names the product, `available` and "
    "`requested`); nothing is written then."
)
@openapi.secured("bearerAuth")
@_idempotency_header
@docs.body(SaleBody)
@docs.response(201, TxRow)
@docs.errors(400, 401, 404, 409, 422)
@authenticated
@validate(json=SaleBody)
async def create_transaction(request: Request, body: SaleBody):
    sold_at = None
    if body.transaction_date is not None:
        locale = await caller_locale(request)
        sold_at = _sale_time(_parse_when(body.transaction_date), locale.tz)
    line = selling.SaleLine(body.product_sku, body.quantity, body.price, body.is_promo)

    async def effect(cur):
        rows = await selling.sell(
            cur, request.ctx.store_id, [line], user_id=request.ctx.identity.user_id, sold_at=sold_at
        )
        return 201, rows[0]

    return await _run(request, "transactions.create", effect)


def _sale_time(when: date | datetime, tz) -> datetime:
    if not isinstance(when, datetime):
        when = datetime.combine(when, time(0))
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    if when > datetime.now(tz) + CLOCK_SKEW:
        raise ValidationFailed("Field 'transaction_date' must not be in the future.")
    if when.date() < EARLIEST_SALE:
        raise ValidationFailed(f"Field 'transaction_date' must not be before {EARLIEST_SALE.isoformat()}.")
    return when


@bp.post("/checkout")
@openapi.summary("Check out a cart atomically (all lines or none)")
@openapi.description(
    "Accepts the frontend's Checkout `{items: [{product: {id: SKU, ...}, quantity}], subtotal, tax, total}`"
    " (or `items[].product_id` as the SKU). Duplicate SKUs are merged. Prices come from the database and the "
    "summary (10% tax, exact) is computed from them: client `subtotal`/`tax`/`total` and `sellingPrice` are "
    "ignored. Product rows are locked in a fixed order, stock is decremented and every line shares one "
    "`checkout_id`. Insufficient stock: 409 naming the product with `available`/`requested`, nothing written. "
    "Unknown SKU: 404."
)
@openapi.secured("bearerAuth")
@_idempotency_header
@docs.body(CheckoutBody)
@docs.response(201, selling.Checkout)
@docs.errors(400, 401, 404, 409, 422)
@authenticated
@validate(json=CheckoutBody)
async def checkout(request: Request, body: CheckoutBody):
    lines = [selling.SaleLine(item.sku, item.quantity) for item in body.items]

    async def effect(cur):
        return 201, await selling.checkout(cur, request.ctx.store_id, lines, user_id=request.ctx.identity.user_id)

    return await _run(request, "transactions.checkout", effect)
