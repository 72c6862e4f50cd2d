"""`/api/export/*`: the store's data as files, streamed (chunked) from
server-side cursors: memory stays flat for any history length. CSV cells that
a spreadsheet would run as formulas are neutralised (`siprems.exports.cells`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from pydantic import ConfigDict
from sanic import Blueprint, Request
from sanic_ext import openapi

from siprems.api import docs
from siprems.api.guard import authenticated, caller_locale
from siprems.api.paging import DayRange
from siprems.api.validation import validate
from siprems.exports import store_data

bp = Blueprint("exports", url_prefix="/api/export")

CSV = "text/csv; charset=utf-8"


class RangeQuery(DayRange):
    model_config = ConfigDict(extra="forbid")


async def _stream(request: Request, chunks: AsyncIterator[str], content_type: str, filename: str):
    # The first chunk (header row) before the headers go out: a database that is
    # down still answers a JSON 503 instead of a truncated 200.
    first = await anext(chunks)
    response = await request.respond(
        content_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
    await response.send(first.encode())
    async for chunk in chunks:
        await response.send(chunk.encode())
    await response.eof()


def _csv_doc(columns: tuple[str, ...]):
    return openapi.response(
        200,
        {"text/csv": docs.RawSchema({"type": "string", "description": "Header row: " + ", ".join(columns)})},
        "CSV, streamed",
    )


def _whole_table_csv(
    filename: str, summary: str, columns: tuple[str, ...], rows: Callable[[Any, int], AsyncIterator[str]]
) -> None:
    """A route that streams one of the store's tables, all of it, as CSV (no query)."""

    @bp.get(f"/{filename}", name=filename.replace(".", "_").replace("-", "_"))
    @openapi.summary(summary)
    @openapi.secured("bearerAuth")
    @_csv_doc(columns)
    @docs.errors(401)
    @authenticated
    async def export(request: Request):
        return await _stream(request, rows(request.app.ctx.db, request.ctx.store_id), CSV, filename)


_whole_table_csv(
    "products.csv",
    "Every product of the store as CSV (re-imports through POST /api/products/import)",
    store_data.PRODUCT_COLUMNS,
    store_data.products_csv,
)
_whole_table_csv(
    "purchase-orders.csv",
    "Purchase order lines as CSV, one row per line",
    store_data.ORDER_LINE_COLUMNS,
    store_data.purchase_orders_csv,
)


@bp.get("/transactions.csv")
@openapi.summary("Sale lines as CSV, oldest first, optionally from/to local days (re-imports through the import)")
@openapi.secured("bearerAuth")
@docs.query(RangeQuery)
@_csv_doc(store_data.TRANSACTION_COLUMNS)
@docs.errors(400, 401)
@authenticated
@validate(query=RangeQuery)
async def transactions_csv(request: Request, query: RangeQuery):
    start, end = query.instants(await caller_locale(request))
    chunks = store_data.transactions_csv(request.app.ctx.db, request.ctx.store_id, start, end)
    return await _stream(request, chunks, CSV, "transactions.csv")


@bp.get("/store.json")
@openapi.summary("Everything of the store in one JSON document (a backup, or a move to another store)")
@openapi.description(
    "Sections: store, products and transactions (in the import routes' shape), product_purchasing, "
    "suppliers, purchase_order_lines, events, opening_hours, webhooks (without secrets). One consistent snapshot."
)
@openapi.secured("bearerAuth")
@docs.response(200, {"type": "object"})
@docs.errors(401)
@authenticated
async def store_json(request: Request):
    chunks = store_data.store_json(request.app.ctx.db, request.ctx.store_id)
    return await _stream(request, chunks, "application/json", "store.json")
