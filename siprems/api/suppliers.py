"""`/api/suppliers` CRUD, and `/api/products/<sku>/purchasing`: a product's
preferred supplier, the supplier's SKU, pack size and lead-time source."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sanic import Blueprint, Request
from sanic.response import json
from sanic_ext import openapi

from siprems import cache
from siprems.api import docs
from siprems.api.fieldtypes import text, whole_number
from siprems.api.guard import authenticated
from siprems.api.validation import validate
from siprems.catalog import read as catalog
from siprems.purchasing import suppliers
from siprems.purchasing.suppliers import ProductPurchasing, Supplier

bp = Blueprint("suppliers")

Name = text(min_length=1, max_length=200)
Short = text(max_length=200)
Notes = text(max_length=2000)
LeadTime = whole_number(ge=0, le=365)
Email = text(max_length=254)


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SupplierCreate(_Input):
    name: Name
    contact: Short | None = None
    email: Email | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: text(max_length=50) | None = None
    lead_time_days: LeadTime | None = Field(default=None, description="default 2")
    notes: Notes | None = None


class SupplierPatch(_Input):
    name: Name = None  # type: ignore[assignment]
    contact: Short | None = None
    email: Email | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: text(max_length=50) | None = None
    lead_time_days: LeadTime = None  # type: ignore[assignment]
    notes: Notes | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> SupplierPatch:
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class PurchasingPatch(_Input):
    supplier_id: whole_number(ge=1) | None = Field(default=None, description="preferred supplier; null: none")
    supplier_sku: text(min_length=1, max_length=100) | None = None
    pack_size: whole_number(ge=1, le=100_000) = Field(default=None, description="order quantities round up to packs")  # type: ignore[assignment]
    lead_time_days: LeadTime | None = Field(default=None, description="own lead time; null: the supplier's")

    @model_validator(mode="after")
    def _not_empty(self) -> PurchasingPatch:
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


@dataclass
class SupplierDeleted:
    message: str
    supplier_id: int


@bp.get("/api/suppliers")
@openapi.summary("The store's suppliers, by name")
@openapi.secured("bearerAuth")
@docs.response(200, list[Supplier])
@docs.errors(401)
@authenticated
async def list_suppliers(request: Request):
    return json(await suppliers.list_suppliers(request.app.ctx.db, request.ctx.store_id))


@bp.post("/api/suppliers")
@openapi.summary("Create a supplier")
@openapi.secured("bearerAuth")
@docs.body(SupplierCreate)
@docs.response(201, Supplier)
@docs.errors(400, 401, 409)
@authenticated
@validate(json=SupplierCreate)
async def create_supplier(request: Request, body: SupplierCreate):
    row = await suppliers.create_supplier(request.app.ctx.db, request.ctx.store_id, body.model_dump())
    return json(row, status=201)


@bp.get("/api/suppliers/<supplier_id:int>")
@openapi.summary("One supplier")
@openapi.secured("bearerAuth")
@docs.response(200, Supplier)
@docs.errors(401, 404)
@authenticated
async def get_supplier(request: Request, supplier_id: int):
    return json(await suppliers.get_supplier(request.app.ctx.db, request.ctx.store_id, supplier_id))


@bp.patch("/api/suppliers/<supplier_id:int>")
@openapi.summary("Change a supplier; a new lead time reaches the products that follow it")
@openapi.secured("bearerAuth")
@docs.body(SupplierPatch)
@docs.response(200, Supplier)
@docs.errors(400, 401, 404, 409)
@authenticated
@validate(json=SupplierPatch)
async def patch_supplier(request: Request, supplier_id: int, body: SupplierPatch):
    ctx, store_id = request.app.ctx, request.ctx.store_id
    row = await suppliers.update_supplier(ctx.db, store_id, supplier_id, body.changes())
    await cache.invalidate(ctx.redis, store_id, cache.CATALOG)  # lead times feed the cached restock advice
    return json(row)


@bp.delete("/api/suppliers/<supplier_id:int>")
@openapi.summary("Delete a supplier without purchase orders (409 otherwise)")
@openapi.secured("bearerAuth")
@docs.response(200, SupplierDeleted)
@docs.errors(401, 404, 409)
@authenticated
async def delete_supplier(request: Request, supplier_id: int):
    await suppliers.delete_supplier(request.app.ctx.db, request.ctx.store_id, supplier_id)
    return json(SupplierDeleted("Supplier deleted", supplier_id))


@bp.get("/api/products/<sku:str>/purchasing")
@openapi.summary("A product's preferred supplier, supplier SKU, pack size and lead time")
@openapi.secured("bearerAuth")
@docs.response(200, ProductPurchasing)
@docs.errors(401, 404)
@authenticated
async def get_purchasing(request: Request, sku: str):
    found = await suppliers.product_purchasing(request.app.ctx.db, request.ctx.store_id, sku)
    if found is None:
        raise catalog.not_found(sku)
    return json(found)


@bp.patch("/api/products/<sku:str>/purchasing")
@openapi.summary("Set a product's purchasing fields (a first supplier brings its lead time)")
@openapi.secured("bearerAuth")
@docs.body(PurchasingPatch)
@docs.response(200, ProductPurchasing)
@docs.errors(400, 401, 404)
@authenticated
@validate(json=PurchasingPatch)
async def patch_purchasing(request: Request, sku: str, body: PurchasingPatch):
    ctx, store_id = request.app.ctx, request.ctx.store_id
    row = await suppliers.set_product_purchasing(ctx.db, store_id, sku, body.changes())
    if row is None:
        raise catalog.not_found(sku)
    await cache.invalidate(ctx.redis, store_id, cache.CATALOG)
    return json(row)
