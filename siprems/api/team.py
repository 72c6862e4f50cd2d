"""`/api/team`: the store's members and their roles, and invitations. Who may
call what is in `siprems/api/access.py` (team routes: owners; accepting an
invitation: any logged-in user)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sanic import Blueprint, Request
from sanic.response import json
from sanic_ext import openapi

from siprems.api import docs
from siprems.api.guard import authenticated
from siprems.api.validation import validate
from siprems.auth import accounts, revocation
from siprems.auth.accounts import Joined
from siprems.team import invitations, members
from siprems.team.invitations import Invitation, NewInvitation
from siprems.team.members import Member
from siprems.team.roles import Role

bp = Blueprint("team", url_prefix="/api/team")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class InvitationBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    email: str = Field(max_length=254)
    role: Role

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError("must be a valid email address")
        return value.lower()


class RoleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role


class AcceptBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    token: str = Field(min_length=1, max_length=200)


class InvitationsQuery(BaseModel):
    include_closed: bool = Field(False, description="Also accepted, revoked (and expired) invitations")


MemberRemoved = docs.deleted("user_id")


@bp.get("/members")
@openapi.summary("The store's members and their roles")
@openapi.secured("bearerAuth")
@docs.response(200, list[Member])
@docs.errors(401, 403)
@authenticated
async def list_members(request: Request):
    return json(await members.list_members(request.app.ctx.db, request.ctx.store_id))


@bp.patch("/members/<user_id:int>")
@openapi.summary("Change a member's role (the store keeps at least one owner)")
@openapi.description("Takes effect within seconds, also for access tokens already issued.")
@openapi.secured("bearerAuth")
@docs.body(RoleBody)
@docs.response(200, Member)
@docs.errors(400, 401, 403, 404, 409)
@authenticated
@validate(json=RoleBody)
async def change_role(request: Request, user_id: int, body: RoleBody):
    ctx, store_id = request.app.ctx, request.ctx.store_id
    before, after = await members.change_role(ctx.db, store_id, user_id, body.role, request.ctx.identity.user_id)
    if before.role != after.role:
        await revocation.bump_user_version(ctx.queue, user_id)  # their tokens carry the old role
    return json(after)


@bp.delete("/members/<user_id:int>")
@openapi.summary("Remove a member from the store (not the last owner)")
@openapi.description("Their access tokens stop working within seconds; their refresh tokens at once.")
@openapi.secured("bearerAuth")
@docs.response(200, MemberRemoved)
@docs.errors(401, 403, 404, 409)
@authenticated
async def remove_member(request: Request, user_id: int):
    ctx, store_id = request.app.ctx, request.ctx.store_id
    await members.remove(ctx.db, store_id, user_id, request.ctx.identity.user_id)
    await revocation.bump_user_version(ctx.queue, user_id)
    return json(MemberRemoved("Member removed", user_id))


@bp.get("/invitations")
@openapi.summary("Open invitations of the store (all with include_closed=true)")
@openapi.secured("bearerAuth")
@docs.query(InvitationsQuery)
@docs.response(200, list[Invitation])
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
@docs.response(201, NewInvitation)
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
@docs.response(200, Invitation)
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
@docs.response(200, Joined)
@docs.errors(400, 401, 403, 404, 409, 410)
@authenticated
@validate(json=AcceptBody)
async def accept_invitation(request: Request, body: AcceptBody):
    ctx, identity = request.app.ctx, request.ctx.identity
    return json(await accounts.accept_invitation(ctx.db, ctx.settings, identity, body.token))
