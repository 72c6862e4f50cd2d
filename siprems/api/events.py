"""`/api/events`: the store's calendar (promotions, holidays, closures) plus
the public holidays of its country, which are listed but cannot be changed.

`event_date` is exactly `YYYY-MM-DD`, stored and returned as sent (the
frontend compares it with `===`).
"""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from sanic import Blueprint, Request
from sanic.response import json
from sanic_ext import openapi

from siprems import cache
from siprems.api import docs
from siprems.api.daily_cache import cached_for_today
from siprems.api.fieldtypes import Boolean, IsoDate, text
from siprems.api.guard import authenticated, caller_locale
from siprems.api.responses import raw_json
from siprems.api.validation import validate
from siprems.calendar import events
from siprems.calendar.locale import check_year

bp = Blueprint("events", url_prefix="/api/events")

MAX_SPAN = timedelta(days=366 * 10)


class EventBody(BaseModel):
    """The frontend sends `{name, date, type, description, includeInPrediction}`;
    the earlier backend's `event_name`/`event_date`/`include_in_prediction` work too."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: text(min_length=1, max_length=255) = Field(validation_alias=AliasChoices("name", "event_name"))
    date: IsoDate = Field(validation_alias=AliasChoices("date", "event_date"))
    type: events.EventType
    description: text(max_length=1000) | None = None
    include_in_prediction: Boolean = Field(
        True, validation_alias=AliasChoices("includeInPrediction", "include_in_prediction")
    )

    @field_validator("date")
    @classmethod
    def _year(cls, value: date) -> date:
        return _in_years(value)

    def data(self) -> events.EventInput:
        return events.EventInput(self.name, self.date, self.type, self.description, self.include_in_prediction)


class RangeQuery(BaseModel):
    start: IsoDate | None = Field(None, description="First day (YYYY-MM-DD); default: 1 January this year")
    end: IsoDate | None = Field(None, description="Last day (YYYY-MM-DD); default: 31 December next year")

    @field_validator("start")
    @classmethod
    def _start(cls, value: date | None) -> date | None:
        return value if value is None else _in_years(value)

    @field_validator("end")
    @classmethod
    def _end(cls, value: date | None, info: ValidationInfo) -> date | None:
        if value is None:
            return None
        start = info.data.get("start")
        if start is not None and start > value:
            raise ValueError("must not be before start")
        if start is not None and value - start > MAX_SPAN:
            raise ValueError("must be at most 10 years after start")
        return _in_years(value)


def _in_years(value: date) -> date:
    return check_year(value)


@bp.get("")
@openapi.summary("The store's events plus its country's public holidays (bare array, newest first)")
@openapi.description(
    "Store events: all of them, or those in [start, end]. Public holidays: those in "
    "[start, end], default this year and next; they have a string `event_id` "
    "`ph-YYYY-MM-DD`, `is_public_holiday: true` and `deletable: false`."
)
@openapi.secured("bearerAuth")
@docs.query(RangeQuery)
@docs.response(200, list[events.Event])
@docs.errors(400, 401)
@authenticated
@validate(query=RangeQuery)
async def list_events(request: Request, query: RangeQuery):
    db = request.app.ctx.db
    return raw_json(
        await cached_for_today(
            request,
            (cache.EVENTS,),  # holidays: the store's country (SETTINGS, always part of the key)
            f"events:{query.start}:{query.end}",
            lambda locale: events.list_events(db, locale, query.start, query.end),
        )
    )


@bp.post("")
@openapi.summary("Create an event (date stored and returned verbatim)")
@openapi.secured("bearerAuth")
@docs.body(EventBody)
@docs.response(201, events.Event)
@docs.errors(400, 401)
@authenticated
@validate(json=EventBody)
async def create_event(request: Request, body: EventBody):
    ctx = request.app.ctx
    locale = await caller_locale(request)
    created = await events.create_event(ctx.db, locale, body.data(), request.ctx.identity.user_id)
    await cache.invalidate(ctx.redis, request.ctx.store_id, cache.EVENTS)  # forecasts and other event-dependent reads
    return json(created, status=201)


@bp.get("/<event_id:str>")
@openapi.summary("One event (or public holiday `ph-YYYY-MM-DD`)")
@openapi.secured("bearerAuth")
@docs.response(200, events.Event)
@docs.errors(401, 404)
@authenticated
async def get_event(request: Request, event_id: str):
    db = request.app.ctx.db
    locale = await caller_locale(request)
    return json(await events.get_event(db, locale, event_id))


@bp.put("/<event_id:str>")
@openapi.summary("Replace an event (full update); public holidays: 403")
@openapi.secured("bearerAuth")
@docs.body(EventBody)
@docs.response(200, events.Event)
@docs.errors(400, 401, 403, 404)
@authenticated
@validate(json=EventBody)
async def update_event(request: Request, event_id: str, body: EventBody):
    ctx = request.app.ctx
    locale = await caller_locale(request)
    updated = await events.update_event(ctx.db, locale, event_id, body.data(), request.ctx.identity.user_id)
    await cache.invalidate(ctx.redis, request.ctx.store_id, cache.EVENTS)
    return json(updated)


@bp.delete("/<event_id:str>")
@openapi.summary("Delete an event (JSON body); public holidays: 403")
@openapi.secured("bearerAuth")
@docs.response(200, docs.Message)
@docs.errors(401, 403, 404)
@authenticated
async def delete_event(request: Request, event_id: str):
    ctx = request.app.ctx
    await events.delete_event(ctx.db, await caller_locale(request), event_id, request.ctx.identity.user_id)
    await cache.invalidate(ctx.redis, request.ctx.store_id, cache.EVENTS)
    return json(docs.Message("Event deleted successfully"))
