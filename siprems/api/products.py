"""`/api/products`: list, create, get, replace (PUT), patch, delete or
archive, stats and categories. Products are addressed by SKU within the
caller's store; reads that many pages make are cached per store."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import json
from sanic_ext import openapi

from siprems import cache, jsonutil
from siprems.api import docs
from siprems.api.guard import authenticated
from siprems.api.responses import raw_json
from siprems.api.validation import validate
from siprems.catalog import products
from siprems.catalog.fields import ProductCreate, ProductPatch, ProductReplace

# Product responses carry the stock policy's status, which a new forecast model can change.
STOCK_FAMILIES = (cache.CATALOG, cache.MODELS)

bp = Blueprint("products", url_prefix="/api/products")


class ListParams(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    limit: int | None = Field(default=None, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=10_000_000)
    search: str | None = Field(default=None, max_length=100)
    category: str | None = Field(default=None, max_length=100)
    include_archived: bool = False


class DeleteParams(BaseModel):
    archive: bool = False


_MONEY = {"type": "number", "minimum": 0}
PRODUCT = {
    "type": "object",
    "properties": {
        "product_id": {"type": "integer"},
        "sku": {"type": "string"},
        "name": {"type": "string"},
        "category": {"type": "string"},
        "variation": {"type": ["string", "null"]},
        "cost_price": {"type": ["number", "null"], "minimum": 0},
        "price": _MONEY,
        "stock": {"type": "integer"},
        "description": {"type": ["string", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "is_archived": {"type": "boolean"},
        "lead_time_days": {"type": "integer"},
        "service_level": {"type": "number"},
        "reorder_level": {"type": "integer", "description": "low-stock threshold while there is no forecast model"},
        "stock_status": {"type": "string", "enum": ["out", "low", "ok"], "description": "the stock policy's verdict"},
        "id": {"type": "string", "description": "alias of sku"},
        "sellingPrice": {"type": "number", "description": "alias of price"},
        "costPrice": {"type": ["number", "null"], "description": "alias of cost_price"},
    },
}
STATS = {
    "type": "object",
    "properties": {
        "active_products": {"type": "integer"},
        "low_stock_items": {"type": "integer"},
        "total_inventory_value": {"type": "number"},
    },
}


def _ttl(request: Request) -> int:
    return request.app.ctx.settings.cache_ttl_seconds


def _user(request: Request) -> int:
    return request.ctx.identity.user_id


async def _changed(request: Request) -> None:
    await cache.invalidate(request.app.ctx.redis, request.ctx.store_id, cache.CATALOG)


@bp.get("/")
@openapi.summary("List products (bare array, newest first); total in X-Total-Count")
@openapi.secured("bearerAuth")
@openapi.parameter("limit", int, "query")
@openapi.parameter("offset", int, "query")
@openapi.parameter("search", str, "query", description="ILIKE on name, SKU and category")
@openapi.parameter("category", str, "query")
@openapi.parameter("include_archived", bool, "query")
@docs.response(200, {"type": "array", "items": PRODUCT})
@docs.errors(400, 401)
@authenticated
@validate(query=ListParams)
async def list_products(request: Request, query: ListParams):
    ctx, store_id = request.app.ctx, request.ctx.store_id
    q = products.ListQuery(**query.model_dump())

    async def load() -> bytes:
        page = await products.list_products(ctx.db, store_id, q)
        # Stored as "<total>\n<items JSON>": served as the stored bytes, no re-encoding.
        return str(page["total"]).encode() + b"\n" + jsonutil.dumps(page["items"])

    raw = await cache.cached_bytes(ctx.redis, store_id, STOCK_FAMILIES, q.cache_name(), _ttl(request), load)
    total, _, items = raw.partition(b"\n")
    return raw_json(items, headers={"X-Total-Count": total.decode()})


@bp.post("/")
@openapi.summary("Create a product (snake_case or the frontend's camelCase fields)")
@openapi.secured("bearerAuth")
@docs.body(ProductCreate)
@docs.response(201, PRODUCT)
@docs.errors(400, 401, 409)
@authenticated
@validate(json=ProductCreate)
async def create_product(request: Request, body: ProductCreate):
    product = await products.create_product(request.app.ctx.db, request.ctx.store_id, body, _user(request))
    await _changed(request)
    return json(product, status=201)


@bp.get("/stats")
@openapi.summary("Active products, low-stock items (out or low by the stock policy) and inventory value")
@openapi.secured("bearerAuth")
@docs.response(200, STATS)
@docs.errors(401)
@authenticated
async def product_stats(request: Request):
    ctx, store_id = request.app.ctx, request.ctx.store_id
    return raw_json(
        await cache.cached_bytes(
            ctx.redis,
            store_id,
            STOCK_FAMILIES,
            "products:stats",
            _ttl(request),
            lambda: products.stats(ctx.db, store_id),
        )
    )


@bp.get("/categories")
@openapi.summary("Distinct categories of the store's active products")
@openapi.secured("bearerAuth")
@docs.response(200, {"type": "object", "properties": {"categories": {"type": "array", "items": {"type": "string"}}}})
@docs.errors(401)
@authenticated
async def product_categories(request: Request):
    ctx, store_id = request.app.ctx, request.ctx.store_id
    names = await cache.cached(
        ctx.redis,
        store_id,
        (cache.CATALOG,),
        "products:categories",
        _ttl(request),
        lambda: products.categories(ctx.db, store_id),
    )
    return json({"categories": names})


@bp.get("/<sku:str>")
@openapi.summary("One product by SKU (archived ones too)")
@openapi.secured("bearerAuth")
@docs.response(200, PRODUCT)
@docs.errors(401, 404)
@authenticated
async def get_product(request: Request, sku: str):
    ctx, store_id = request.app.ctx, request.ctx.store_id
    return raw_json(
        await cache.cached_bytes(
            ctx.redis,
            store_id,
            STOCK_FAMILIES,
            f"product:{sku}",
            _ttl(request),
            lambda: products.get_product(ctx.db, store_id, sku),
        )
    )


@bp.put("/<sku:str>")
@openapi.summary("Replace a product: name, category, price and stock required; a body sku renames it")
@openapi.secured("bearerAuth")
@docs.body(ProductReplace)
@docs.response(200, PRODUCT)
@docs.errors(400, 401, 404, 409)
@authenticated
@validate(json=ProductReplace)
async def replace_product(request: Request, sku: str, body: ProductReplace):
    product = await products.replace_product(request.app.ctx.db, request.ctx.store_id, sku, body, _user(request))
    await _changed(request)
    return json(product)


@bp.patch("/<sku:str>")
@openapi.summary("Change some fields of a product; null clears cost_price, variation, description")
@openapi.secured("bearerAuth")
@docs.body(ProductPatch)
@docs.response(200, PRODUCT)
@docs.errors(400, 401, 404, 409)
@authenticated
@validate(json=ProductPatch)
async def patch_product(request: Request, sku: str, body: ProductPatch):
    product = await products.patch_product(request.app.ctx.db, request.ctx.store_id, sku, body, _user(request))
    await _changed(request)
    return json(product)


@bp.delete("/<sku:str>")
@openapi.summary("Delete a product without sales (409 otherwise), or archive it with ?archive=true")
@openapi.secured("bearerAuth")
@openapi.parameter("archive", bool, "query")
@docs.response(
    200,
    {"type": "object", "properties": {"message": {"type": "string"}, "sku": {"type": "string"}, "product": PRODUCT}},
)
@docs.errors(400, 401, 404, 409)
@authenticated
@validate(query=DeleteParams)
async def delete_product(request: Request, sku: str, query: DeleteParams):
    ctx, store_id = request.app.ctx, request.ctx.store_id
    if query.archive:
        product = await products.archive_product(ctx.db, store_id, sku, _user(request))
        await _changed(request)
        return json({"message": "Product archived successfully", "sku": sku, "product": product})
    await products.delete_product(ctx.db, store_id, sku, _user(request))
    await _changed(request)
    return json({"message": "Product deleted successfully", "sku": sku})
