"""`/api/products`: list, create, get, replace (PUT), patch, delete or
archive, stats and categories. Products are addressed by SKU within the
caller's store; reads that many pages make are cached per store."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import json
from sanic_ext import openapi

from siprems import cache, jsonutil
from siprems.api import docs
from siprems.api.guard import authenticated
from siprems.api.responses import extension, raw_json
from siprems.api.validation import validate
from siprems.catalog import products
from siprems.catalog.fields import ProductCreate, ProductPatch, ProductReplace
from siprems.catalog.products import Product, StockStats
from siprems.jsonutil import DOCUMENTED, Number

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


@dataclass
class ProductBody(Product):
    """A product as answered: the catalogue's fields, the stock policy's status and
    the frontend's camelCase aliases."""

    __pydantic_config__ = DOCUMENTED

    # Set from their originals (defaults only so the extension can leave them out).
    id: str = ""
    """alias of sku"""
    sellingPrice: Number = Decimal(0)
    """alias of price"""
    costPrice: Number | None = None
    """alias of cost_price"""

    def __post_init__(self) -> None:
        self.id, self.sellingPrice, self.costPrice = self.sku, self.price, self.cost_price


product_body = extension(Product, ProductBody)


@dataclass
class ProductDeleted:
    message: str
    sku: str


@dataclass
class ProductArchived(ProductDeleted):
    product: ProductBody


@dataclass
class Categories:
    categories: list[str]


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
@docs.response(200, list[ProductBody])
@docs.errors(400, 401)
@authenticated
@validate(query=ListParams)
async def list_products(request: Request, query: ListParams):
    ctx, store_id = request.app.ctx, request.ctx.store_id
    q = products.ListQuery(**query.model_dump())

    async def load() -> bytes:
        items, total = await products.list_products(ctx.db, store_id, q)
        # Stored as "<total>\n<items JSON>": served as the stored bytes, no re-encoding.
        return str(total).encode() + b"\n" + jsonutil.dumps([product_body(p) for p in items])

    raw = await cache.cached_bytes(ctx.redis, store_id, STOCK_FAMILIES, q.cache_name(), _ttl(request), load)
    total, _, items = raw.partition(b"\n")
    return raw_json(items, headers={"X-Total-Count": total.decode()})


@bp.post("/")
@openapi.summary("Create a product (snake_case or the frontend's camelCase fields)")
@openapi.secured("bearerAuth")
@docs.body(ProductCreate)
@docs.response(201, ProductBody)
@docs.errors(400, 401, 409)
@authenticated
@validate(json=ProductCreate)
async def create_product(request: Request, body: ProductCreate):
    product = await products.create_product(request.app.ctx.db, request.ctx.store_id, body, _user(request))
    await _changed(request)
    return json(product_body(product), status=201)


@bp.get("/stats")
@openapi.summary("Active products, low-stock items (out or low by the stock policy) and inventory value")
@openapi.secured("bearerAuth")
@docs.response(200, StockStats)
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
@docs.response(200, Categories)
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
    return json(Categories(names))


@bp.get("/<sku:str>")
@openapi.summary("One product by SKU (archived ones too)")
@openapi.secured("bearerAuth")
@docs.response(200, ProductBody)
@docs.errors(401, 404)
@authenticated
async def get_product(request: Request, sku: str):
    ctx, store_id = request.app.ctx, request.ctx.store_id

    async def load() -> ProductBody:
        return product_body(await products.get_product(ctx.db, store_id, sku))

    return raw_json(
        await cache.cached_bytes(ctx.redis, store_id, STOCK_FAMILIES, f"product:{sku}", _ttl(request), load)
    )


@bp.put("/<sku:str>")
@openapi.summary("Replace a product: name, category, price and stock required; a body sku renames it")
@openapi.secured("bearerAuth")
@docs.body(ProductReplace)
@docs.response(200, ProductBody)
@docs.errors(400, 401, 404, 409)
@authenticated
@validate(json=ProductReplace)
async def replace_product(request: Request, sku: str, body: ProductReplace):
    product = await products.replace_product(request.app.ctx.db, request.ctx.store_id, sku, body, _user(request))
    await _changed(request)
    return json(product_body(product))


@bp.patch("/<sku:str>")
@openapi.summary("Change some fields of a product; null clears cost_price, variation, description")
@openapi.secured("bearerAuth")
@docs.body(ProductPatch)
@docs.response(200, ProductBody)
@docs.errors(400, 401, 404, 409)
@authenticated
@validate(json=ProductPatch)
async def patch_product(request: Request, sku: str, body: ProductPatch):
    product = await products.patch_product(request.app.ctx.db, request.ctx.store_id, sku, body, _user(request))
    await _changed(request)
    return json(product_body(product))


@bp.delete("/<sku:str>")
@openapi.summary("Delete a product without sales (409 otherwise), or archive it with ?archive=true")
@openapi.secured("bearerAuth")
@openapi.parameter("archive", bool, "query")
@docs.response(200, ProductArchived | ProductDeleted)
@docs.errors(400, 401, 404, 409)
@authenticated
@validate(query=DeleteParams)
async def delete_product(request: Request, sku: str, query: DeleteParams):
    ctx, store_id = request.app.ctx, request.ctx.store_id
    if query.archive:
        product = await products.archive_product(ctx.db, store_id, sku, _user(request))
        await _changed(request)
        return json(ProductArchived("Product archived successfully", sku, product_body(product)))
    await products.delete_product(ctx.db, store_id, sku, _user(request))
    await _changed(request)
    return json(ProductDeleted("Product deleted successfully", sku))
