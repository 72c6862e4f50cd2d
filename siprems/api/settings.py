"""`/api/settings`: the caller's store (name, address, country, time zone,
currency) and its opening hours, in the day map of the settings page:
`{Monday: {open: "HH:MM", close: "HH:MM", closed: bool}, ...}`."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sanic import Blueprint, Request
from sanic.response import json
from sanic_ext import openapi

from siprems import cache
from siprems.api import docs
from siprems.api.guard import authenticated
from siprems.api.validation import validate
from siprems.stores import settings
from siprems.stores.fields import HoursBody, SaveAll, StoreCreate, StoreFields
from siprems.stores.settings import Store, Week

bp = Blueprint("settings", url_prefix="/api/settings")


@dataclass
class UserStore(Store):
    user_id: int  # the caller's: not in the store's cache entry, added per request


@dataclass
class SettingsBody:
    store: UserStore
    opening_hours: Week


async def _current(request: Request) -> dict:
    """The store's `StoreSettings` from the cache, decoded."""
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
    """A `SettingsBody` from a `StoreSettings` (as a dict: cached entries come decoded)."""
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
    return _with_user(request, asdict(saved))


@bp.get("/store")
@openapi.summary("The caller's store and its opening hours")
@openapi.secured("bearerAuth")
@docs.response(200, SettingsBody)
@docs.errors(401, 404)
@authenticated
async def get_store(request: Request):
    return json(await _current(request))


@bp.post("/store")
@openapi.summary("Set the store's details (every user has one store: this updates it, 200)")
@openapi.secured("bearerAuth")
@docs.body(StoreCreate)
@docs.response(200, SettingsBody)
@docs.errors(400, 401)
@authenticated
@validate(json=StoreCreate)
async def post_store(request: Request, body: StoreCreate):
    return json(await _save(request, body))


@bp.put("/store")
@openapi.summary("Change some of the store's details (omitted or null = unchanged)")
@openapi.secured("bearerAuth")
@docs.body(StoreFields)
@docs.response(200, SettingsBody)
@docs.errors(400, 401)
@authenticated
@validate(json=StoreFields)
async def put_store(request: Request, body: StoreFields):
    return json(await _save(request, body))


@bp.get("/operating-hours")
@openapi.summary("Opening hours, Monday to Sunday (closed days keep their last times)")
@openapi.secured("bearerAuth")
@docs.response(200, Week)
@docs.errors(401)
@authenticated
async def get_hours(request: Request):
    return json((await _current(request))["opening_hours"])


@bp.put("/operating-hours")
@openapi.summary("Change the opening hours of some or all days")
@openapi.secured("bearerAuth")
@docs.body(HoursBody)
@docs.response(200, SettingsBody)
@docs.errors(400, 401)
@authenticated
@validate(json=HoursBody)
async def put_hours(request: Request, body: HoursBody):
    return json(await _save(request, StoreFields(), body.opening_hours))


@bp.route("/save-all", methods=["PUT", "POST"])
@openapi.summary("Save the settings page at once: store fields and opening hours")
@openapi.secured("bearerAuth")
@docs.body(SaveAll)
@docs.response(200, SettingsBody)
@docs.errors(400, 401)
@authenticated
@validate(json=SaveAll)
async def save_all(request: Request, body: SaveAll):
    return json(await _save(request, body, body.opening_hours))
