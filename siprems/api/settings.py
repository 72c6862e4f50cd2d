"""`/api/settings`: the caller's store (name, address, country, time zone,
currency) and its opening hours, in the day map of the settings page:
`{Monday: {open: "HH:MM", close: "HH:MM", closed: bool}, ...}`."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import json
from sanic_ext import openapi

from siprems import cache
from siprems.api import docs
from siprems.api.guard import authenticated
from siprems.api.validation import validate
from siprems.stores import settings
from siprems.stores.fields import DAYS, HoursBody, SaveAll, StoreCreate, StoreFields

bp = Blueprint("settings", url_prefix="/api/settings")

DAY = {
    "type": "object",
    "properties": {
        "open": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
        "close": {"type": "string"},
        "closed": {"type": "boolean"},
    },
}
HOURS = {"type": "object", "properties": {day: DAY for day in DAYS}}
STORE = {
    "type": "object",
    "properties": {
        "store_id": {"type": "integer"},
        "user_id": {"type": "integer"},
        "name": {"type": "string"},
        "address": {"type": ["string", "null"]},
        "country": {"type": "string"},
        "subdivision": {"type": ["string", "null"]},
        "timezone": {"type": "string"},
        "currency": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}
SETTINGS = {"type": "object", "properties": {"store": STORE, "opening_hours": HOURS}}


async def _current(request: Request) -> dict:
    ctx, store_id = request.app.ctx, request.ctx.store_id
    loaded = await cache.cached(
        ctx.redis,
        store_id,
        (cache.SETTINGS,),
        "settings",
        ctx.settings.cache_ttl_seconds,
        lambda: settings.load(ctx.db, store_id),
    )
    return _with_user(request, loaded)


def _with_user(request: Request, loaded: dict) -> dict:
    # The cache is per store; user_id belongs to the caller, so it is added after.
    store = {
        "store_id": loaded["store"]["store_id"],
        "user_id": request.ctx.identity.user_id,
        **{k: v for k, v in loaded["store"].items() if k != "store_id"},
    }
    return {"store": store, "opening_hours": loaded["opening_hours"]}


async def _save(request: Request, body: StoreFields, hours=None) -> dict:
    ctx, store_id = request.app.ctx, request.ctx.store_id
    saved = await settings.update(ctx.db, store_id, body.store_changes(), hours, request.ctx.identity.user_id)
    await cache.invalidate(ctx.redis, store_id, cache.SETTINGS)
    return _with_user(request, saved)


@bp.get("/store")
@openapi.summary("The caller's store and its opening hours")
@openapi.secured("bearerAuth")
@docs.response(200, SETTINGS)
@docs.errors(401, 404)
@authenticated
async def get_store(request: Request):
    return json(await _current(request))


@bp.post("/store")
@openapi.summary("Set the store's details (every user has one store: this updates it, 200)")
@openapi.secured("bearerAuth")
@docs.body(StoreCreate)
@docs.response(200, SETTINGS)
@docs.errors(400, 401)
@authenticated
@validate(json=StoreCreate)
async def post_store(request: Request, body: StoreCreate):
    return json(await _save(request, body))


@bp.put("/store")
@openapi.summary("Change some of the store's details (omitted or null = unchanged)")
@openapi.secured("bearerAuth")
@docs.body(StoreFields)
@docs.response(200, SETTINGS)
@docs.errors(400, 401)
@authenticated
@validate(json=StoreFields)
async def put_store(request: Request, body: StoreFields):
    return json(await _save(request, body))


@bp.get("/operating-hours")
@openapi.summary("Opening hours, Monday to Sunday (closed days keep their last times)")
@openapi.secured("bearerAuth")
@docs.response(200, HOURS)
@docs.errors(401)
@authenticated
async def get_hours(request: Request):
    return json((await _current(request))["opening_hours"])


@bp.put("/operating-hours")
@openapi.summary("Change the opening hours of some or all days")
@openapi.secured("bearerAuth")
@docs.body(HoursBody)
@docs.response(200, SETTINGS)
@docs.errors(400, 401)
@authenticated
@validate(json=HoursBody)
async def put_hours(request: Request, body: HoursBody):
    return json(await _save(request, StoreFields(), body.opening_hours))


@bp.route("/save-all", methods=["PUT", "POST"])
@openapi.summary("Save the settings page at once: store fields and opening hours")
@openapi.secured("bearerAuth")
@docs.body(SaveAll)
@docs.response(200, SETTINGS)
@docs.errors(400, 401)
@authenticated
@validate(json=SaveAll)
async def save_all(request: Request, body: SaveAll):
    return json(await _save(request, body, body.opening_hours))
