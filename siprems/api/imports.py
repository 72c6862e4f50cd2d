"""Bulk import: `POST /api/products/import` and `POST /api/transactions/import`.

Each takes JSON (`{"products": [...]}` / `{"transactions": [...]}`) or CSV
(`Content-Type: text/csv`, a header row with the same field names), up to
100,000 rows. Every row is validated before anything is written; then all
rows are written in one transaction (all or nothing). The body is streamed so
these two routes may take up to 64 MiB (the app-wide limit is lower).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Literal

import redis.exceptions
from pydantic import BaseModel
from sanic import Blueprint, Request
from sanic.response import json
from sanic_ext import openapi

from siprems import cache
from siprems.api import docs
from siprems.api.guard import authenticated
from siprems.api.validation import validate
from siprems.catalog.fields import ProductCreate
from siprems.errors import ApiError
from siprems.forecasting import training_requests
from siprems.imports import products as product_import
from siprems.imports import rows as import_rows
from siprems.imports import transactions as sales_import

bp = Blueprint("imports")
log = logging.getLogger("siprems.imports")


class ProductImportParams(BaseModel):
    mode: Literal["upsert", "create"] = "upsert"


def _body_doc(key: str, row_model, columns: str):
    return openapi.body(
        {
            "application/json": docs.RawSchema(
                {
                    "type": "object",
                    "required": [key],
                    "additionalProperties": False,
                    "properties": {
                        key: {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": import_rows.MAX_ROWS,
                            "items": docs.schema_of(row_model),
                        }
                    },
                }
            ),
            "text/csv": docs.RawSchema({"type": "string", "description": f"Header row with: {columns}"}),
        },
        required=True,
    )


@dataclass
class ImportRejected(docs.Error):
    """The 400 of an import (siprems.imports.rows.reject): nothing was written."""

    error_count: int
    details: list[import_rows.ProblemBody]  # the first MAX_ERRORS


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > import_rows.MAX_BYTES:
        raise import_rows.TooManyRows(
            f"The import body is larger than {import_rows.MAX_BYTES // 2**20} MiB; split it into several requests.",
            code="payload_too_large",
        )
    parts, size = [], 0
    while True:
        chunk = await request.stream.read()
        if chunk is None:
            break
        size += len(chunk)
        if size > import_rows.MAX_BYTES:
            raise import_rows.TooManyRows(
                f"The import body is larger than {import_rows.MAX_BYTES // 2**20} MiB; split it into several requests.",
                code="payload_too_large",
            )
        parts.append(chunk)
    return b"".join(parts)


def _parse_products(body: bytes, content_type: str):
    rows = import_rows.parse(body, content_type, "products", product_import.COLUMNS)
    return rows, product_import.check(rows)


def _parse_sales(body: bytes, content_type: str):
    rows = import_rows.parse(body, content_type, "transactions", sales_import.COLUMNS)
    return rows, sales_import.check(rows)


def _log_timing(kind: str, store_id: int, count: int, started: float, read: float, checked: float) -> None:
    done = time.perf_counter()
    log.info(
        "%s import store=%s rows=%d read=%.2fs validate=%.2fs write=%.2fs total=%.2fs rows_per_s=%.0f",
        kind,
        store_id,
        count,
        read - started,
        checked - read,
        done - checked,
        done - started,
        count / max(done - started, 1e-9),
    )


@bp.post("/api/products/import", stream=True)
@openapi.summary("Import up to 100,000 products (JSON or CSV); upsert by SKU, or mode=create")
@openapi.description(
    "Validated in full first (errors name row and field), then written atomically. "
    "mode=upsert (default): existing SKUs are replaced like PUT, new ones created. "
    "mode=create: 409 if any SKU exists. A SKU twice in one import is a 400."
)
@openapi.secured("bearerAuth")
@openapi.parameter("mode", str, "query", description="upsert (default) or create")
@_body_doc(
    "products",
    ProductCreate,
    "sku, name, category, price, stock, cost_price, variation, description, "
    "lead_time_days, service_level, is_archived (or id, sellingPrice, costPrice)",
)
@docs.response(200, product_import.ProductsImported)
@docs.response(400, ImportRejected, "Validation failed; nothing was written")
@docs.errors(401, 409, 413)
@authenticated
@validate(query=ProductImportParams)
async def import_products(request: Request, query: ProductImportParams):
    started = time.perf_counter()
    body = await _read_body(request)
    read = time.perf_counter()
    rows, items = await asyncio.to_thread(_parse_products, body, request.headers.get("content-type", ""))
    checked = time.perf_counter()
    ctx, store_id = request.app.ctx, request.ctx.store_id
    result = await product_import.write(ctx.db, store_id, rows, items, query.mode, request.ctx.identity.user_id)
    await cache.invalidate(ctx.redis, store_id, cache.CATALOG)
    _log_timing("products", store_id, len(items), started, read, checked)
    return json(result)


async def _train_affected(ctx, store_id: int, products: list[tuple[int, str]]) -> None:
    """Their history changed: queue (debounced) training so models exist before anyone asks."""
    try:
        await training_requests.request_training(ctx.queue, store_id, products)
    except (
        ApiError,
        redis.exceptions.RedisError,
        OSError,
    ) as exc:  # the import is committed; the nightly refresh catches up
        log.warning("could not queue training after an import: %r", exc)


@bp.post("/api/transactions/import", stream=True)
@openapi.summary("Import up to 100,000 past sales lines (JSON or CSV); stock is not changed")
@openapi.description(
    "Rows: product_sku, quantity, transaction_date (ISO 8601; no offset = store time "
    "zone), price (default: the product's price), is_promo. Validated in full first, "
    "then written atomically."
)
@openapi.secured("bearerAuth")
@_body_doc("transactions", sales_import.TransactionRow, "product_sku, quantity, transaction_date, price, is_promo")
@docs.response(200, sales_import.SalesImported)
@docs.response(400, ImportRejected, "Validation failed; nothing was written")
@docs.errors(401, 413)
@authenticated
async def import_transactions(request: Request):
    started = time.perf_counter()
    body = await _read_body(request)
    read = time.perf_counter()
    rows, items = await asyncio.to_thread(_parse_sales, body, request.headers.get("content-type", ""))
    checked = time.perf_counter()
    ctx, store_id = request.app.ctx, request.ctx.store_id
    written = await sales_import.write(ctx.db, store_id, rows, items)
    await cache.invalidate(ctx.redis, store_id, cache.SALES, cache.HISTORY)
    await _train_affected(ctx, store_id, written.changed_products)
    _log_timing("transactions", store_id, len(items), started, read, checked)
    return json(written.result)
