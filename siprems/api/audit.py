"""`/api/audit`: the store's audit trail, read-only (`siprems.audit`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import json
from sanic_ext import openapi

from siprems import audit
from siprems.api import docs
from siprems.api.fieldtypes import text
from siprems.api.guard import authenticated, caller_locale
from siprems.api.paging import DayRangePage
from siprems.api.validation import validate
from siprems.pages import Page

bp = Blueprint("audit", url_prefix="/api/audit")


class AuditParams(DayRangePage):
    entity: Literal["product", "settings", "event", "member", "invitation"] | None = Field(
        None, description="Only this kind of entity"
    )
    entity_id: text(min_length=1, max_length=100) | None = Field(
        None, description="Only this one (a product's SKU at the time, a user id, an event id, ...)"
    )


@bp.get("")
@openapi.summary("The audit trail (who changed what, before and after), newest first; append-only")
@openapi.secured("bearerAuth")
@docs.query(AuditParams)
@docs.response(200, Page[audit.Entry])
@docs.errors(400, 401, 403)
@authenticated
@validate(query=AuditParams)
async def list_audit(request: Request, query: AuditParams):
    start, end = query.instants(await caller_locale(request))
    q = audit.AuditQuery(
        entity=query.entity,
        entity_id=query.entity_id,
        start=start,
        end=end,
        limit=query.limit,
        offset=query.offset,
    )
    return json(await audit.list_entries(request.app.ctx.db, request.ctx.store_id, q))
