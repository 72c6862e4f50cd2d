"""`/api/audit`: the store's audit trail, read-only (`siprems.audit`)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sanic import Blueprint, Request
from sanic.response import json
from sanic_ext import openapi

from siprems import audit
from siprems.api import docs
from siprems.api.fieldtypes import IsoDate, text
from siprems.api.guard import authenticated, caller_locale
from siprems.api.validation import validate

bp = Blueprint("audit", url_prefix="/api/audit")


class AuditParams(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    entity: Literal["product", "settings", "event", "member", "invitation"] | None = Field(
        None, description="Only this kind of entity"
    )
    entity_id: text(min_length=1, max_length=100) | None = Field(
        None, description="Only this one (a product's SKU at the time, a user id, an event id, ...)"
    )
    from_: IsoDate | None = Field(None, alias="from", description="First local day, YYYY-MM-DD (inclusive)")
    to: IsoDate | None = Field(None, description="Last local day, YYYY-MM-DD (inclusive)")
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=1_000_000)

    @field_validator("to")
    @classmethod
    def _ordered(cls, end: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("from_")
        if end is not None and start is not None and start > end:
            raise ValueError("must not be before from")
        return end


ENTRY = {
    "type": "object",
    "properties": {
        "audit_id": {"type": "integer"},
        "entity": {"type": "string"},
        "entity_id": {"type": ["string", "null"]},
        "action": {"type": "string"},
        "user_id": {"type": ["integer", "null"]},
        "user_email": {"type": ["string", "null"]},
        "before": {"type": ["object", "null"]},
        "after": {"type": ["object", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
    },
}


@bp.get("")
@openapi.summary("The audit trail (who changed what, before and after), newest first; append-only")
@openapi.secured("bearerAuth")
@docs.query(AuditParams)
@docs.response(
    200,
    {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": ENTRY},
            "total": {"type": "integer"},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
        },
    },
)
@docs.errors(400, 401, 403)
@authenticated
@validate(query=AuditParams)
async def list_audit(request: Request, query: AuditParams):
    locale = await caller_locale(request)
    q = audit.AuditQuery(
        entity=query.entity,
        entity_id=query.entity_id,
        start=locale.day_start(query.from_) if query.from_ else None,
        end=locale.days_window(query.to, query.to)[1] if query.to else None,
        limit=query.limit,
        offset=query.offset,
    )
    return json(await audit.list_entries(request.app.ctx.db, request.ctx.store_id, q))
