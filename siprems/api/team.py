"""`/api/team`: the store's members and their roles, and invitations. Who may
call what is in `siprems/api/access.py` (team routes: owners; accepting an
invitation: any logged-in user)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sanic import Blueprint, Request
from sanic.response import json
from sanic_ext import openapi

from siprems.api import docs
from siprems.api.guard import authenticated
from siprems.api.validation import validate
from siprems.auth import accounts, revocation
from siprems.team import invitations, members

bp = Blueprint("team", url_prefix="/api/team")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
RoleName = Literal["owner", "manager", "cashier"]


class InvitationBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    email: str = Field(max_length=254)
    role: RoleName

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError("must be a valid email address")
        return value.lower()


class RoleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: RoleName


class AcceptBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    token: str = Field(min_length=1, max_length=200)


class InvitationsQuery(BaseModel):
    include_closed: bool = Field(False, description="Also accepted, revoked (and expired) invitations")


_ROLE = {"type": "string", "enum": ["owner", "manager", "cashier"]}
MEMBER = {
    "type": "object",
    "properties": {
        "user_id": {"type": "integer"},
        "email": {"type": "string"},
        "full_name": {"type": "string"},
        "role": _ROLE,
        "joined_at": {"type": "string", "format": "date-time"},
        "invited_by": {"type": ["integer", "null"]},
    },
}
_WHEN = {"type": ["string", "null"], "format": "date-time"}
INVITATION = {
    "type": "object",
    "properties": {
        "invitation_id": {"type": "integer"},
        "email": {"type": "string"},
        "role": _ROLE,
        "status": {"type": "string", "enum": ["pending", "accepted", "revoked", "expired"]},
        "invited_by": {"type": ["integer", "null"]},
        "created_at": _WHEN,
        "expires_at": _WHEN,
        "accepted_at": _WHEN,
        "accepted_by": {"type": ["integer", "null"]},
        "revoked_at": _WHEN,
    },
}
NEW_INVITATION = {
    "type": "object",
    "properties": {
        **INVITATION["properties"],
        "token": {"type": "string", "description": "Single use; shown only in this answer"},
    },
}


@bp.get("/members")
@openapi.summary("The store's members and their roles")
@openapi.secured("bearerAuth")
@docs.response(200, docs.array_of(MEMBER))
@docs.errors(401, 403)
@authenticated
async def list_members(request: Request):
    return json(await members.list_members(request.app.ctx.db, request.ctx.store_id))


@bp.patch("/members/<user_id:int>")
@openapi.summary("Change a member's role (the store keeps at least one owner)")
@openapi.description("Takes effect within seconds, also for access tokens already issued.")
@openapi.secured("bearerAuth")
@docs.body(RoleBody)
@docs.response(200, MEMBER)
@docs.errors(400, 401, 403, 404, 409)
@authenticated
@validate(json=RoleBody)
async def change_role(request: Request, user_id: int, body: RoleBody):
    ctx, store_id = request.app.ctx, request.ctx.store_id
    before, after = await members.change_role(ctx.db, store_id, user_id, body.role, request.ctx.identity.user_id)
    if before["role"] != after["role"]:
        await revocation.bump_user_version(ctx.queue, user_id)  # their tokens carry the old role
    return json(after)


@bp.delete("/members/<user_id:int>")
@openapi.summary("Remove a member from the store (not the last owner)")
@openapi.description("Their access tokens stop working within seconds; their refresh tokens at once.")
@openapi.secured("bearerAuth")
@docs.response(200, docs.deleted("user_id"))
@docs.errors(401, 403, 404, 409)
@authenticated
async def remove_member(request: Request, user_id: int):
    ctx, store_id = request.app.ctx, request.ctx.store_id
    await members.remove(ctx.db, store_id, user_id, request.ctx.identity.user_id)
    await revocation.bump_user_version(ctx.queue, user_id)
    return json({"message": "Member removed", "user_id": user_id})


@bp.get("/invitations")
@openapi.summary("Open invitations of the store (all with include_closed=true)")
@openapi.secured("bearerAuth")
@docs.query(InvitationsQuery)
@docs.response(200, docs.array_of(INVITATION))
@docs.errors(400, 401, 403)
@authenticated
@validate(query=InvitationsQuery)
async def list_invitations(request: Request, query: InvitationsQuery):
    return json(await invitations.list_invitations(request.app.ctx.db, request.ctx.store_id, query.include_closed))


@bp.post("/invitations")
@openapi.summary("Invite someone by email with a role: a single-use token, valid 7 days")
@openapi.description(
    "They register with `invitation_token` (POST /api/auth/register), or, already having an account, "
    "accept it with POST /api/team/invitations/accept. The token must be used with the invited email."
)
@openapi.secured("bearerAuth")
@docs.body(InvitationBody)
@docs.response(201, NEW_INVITATION)
@docs.errors(400, 401, 403)
@authenticated
@validate(json=InvitationBody)
async def create_invitation(request: Request, body: InvitationBody):
    ctx, store_id, caller = request.app.ctx, request.ctx.store_id, request.ctx.identity.user_id
    invitation = await invitations.create(ctx.db, store_id, body.email, body.role, caller)
    return json(invitation, status=201)


@bp.delete("/invitations/<invitation_id:int>")
@openapi.summary("Withdraw an invitation that was not accepted yet")
@openapi.secured("bearerAuth")
@docs.response(200, INVITATION)
@docs.errors(401, 403, 404)
@authenticated
async def revoke_invitation(request: Request, invitation_id: int):
    ctx, store_id = request.app.ctx, request.ctx.store_id
    return json(await invitations.revoke(ctx.db, store_id, invitation_id, request.ctx.identity.user_id))


@bp.post("/invitations/accept")
@openapi.summary("Accept an invitation as a logged-in user: join that store (it becomes the active one)")
@openapi.description("Answers new tokens for the joined store.")
@openapi.secured("bearerAuth")
@docs.body(AcceptBody)
@docs.response(
    200,
    {
        "type": "object",
        "properties": {
            "store_id": {"type": "integer"},
            "role": _ROLE,
            "access_token": {"type": "string"},
            "refresh_token": {"type": "string"},
            "token_type": {"type": "string"},
            "expires_in": {"type": "integer"},
        },
    },
)
@docs.errors(400, 401, 403, 404, 409, 410)
@authenticated
@validate(json=AcceptBody)
async def accept_invitation(request: Request, body: AcceptBody):
    ctx, identity = request.app.ctx, request.ctx.identity
    return json(await accounts.accept_invitation(ctx.db, ctx.settings, identity, body.token))
