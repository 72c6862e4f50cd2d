"""`/api/auth`: register, login, refresh, profile, change-password, logout."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sanic import Blueprint, Request
from sanic.response import json
from sanic_ext import openapi

from siprems.api import docs
from siprems.api.guard import authenticated
from siprems.api.validation import validate
from siprems.auth import accounts
from siprems.auth.accounts import LoggedIn, Profile, Tokens, UserOfStore
from siprems.errors import NotFound

bp = Blueprint("auth", url_prefix="/api/auth")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class _Strict(BaseModel):
    # No str_strip_whitespace: a password is kept exactly as typed. Names and
    # e-mail addresses are trimmed by their own validators.
    model_config = ConfigDict(extra="forbid")


def _email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("must be a valid email address")
    return value.lower()


class RegisterBody(_Strict):
    email: str
    password: str = Field(min_length=8, max_length=255)
    full_name: str = Field(min_length=2, max_length=100)
    invitation_token: str | None = Field(
        default=None, min_length=1, max_length=200, description="Join the inviting store instead of creating one"
    )
    _check_email = field_validator("email")(_email)
    _trim_name = field_validator("full_name", mode="before")(lambda v: v.strip() if isinstance(v, str) else v)


class LoginBody(_Strict):
    email: str
    password: str = Field(min_length=1, max_length=255)
    _check_email = field_validator("email")(_email)


class RefreshBody(_Strict):
    refresh_token: str = Field(min_length=1, max_length=4096)


class ChangePasswordBody(_Strict):
    old_password: str = Field(min_length=1, max_length=255)
    new_password: str = Field(min_length=8, max_length=255)


class LogoutBody(_Strict):
    refresh_token: str | None = Field(default=None, max_length=4096)


@dataclass
class Registered:
    message: str
    user: UserOfStore


@dataclass
class PasswordChanged(Tokens):
    message: str


@bp.post("/register")
@openapi.summary("Register a user: the owner of a new store, or with `invitation_token` a member of that store")
@docs.body(RegisterBody)
@docs.response(201, Registered)
@docs.errors(400, 403, 404, 409, 410)
@validate(json=RegisterBody)
async def register(request: Request, body: RegisterBody):
    user = await accounts.register(request.app.ctx.db, body.email, body.password, body.full_name, body.invitation_token)
    return json(Registered("Registration successful", user), status=201)


@bp.post("/login")
@openapi.summary("Log in: access and refresh tokens at the top level")
@docs.body(LoginBody)
@docs.response(200, LoggedIn)
@docs.errors(400, 401, 429)
@validate(json=LoginBody)
async def login(request: Request, body: LoginBody):
    ctx = request.app.ctx
    return json(await accounts.login(ctx.db, ctx.redis, ctx.queue, ctx.settings, body.email, body.password))


@bp.post("/refresh")
@openapi.summary("Rotate the refresh token; a reused one revokes its family")
@docs.body(RefreshBody)
@docs.response(200, Tokens)
@docs.errors(400, 401)
@validate(json=RefreshBody)
async def refresh(request: Request, body: RefreshBody):
    ctx = request.app.ctx
    return json(await accounts.refresh(ctx.db, ctx.queue, ctx.settings, body.refresh_token))


@bp.get("/profile")
@openapi.summary("The caller's profile")
@openapi.secured("bearerAuth")
@docs.response(200, Profile)
@docs.errors(401, 404)
@authenticated
async def profile(request: Request):
    user = await accounts.profile(request.app.ctx.db, request.ctx.identity)
    if user is None:
        raise NotFound("User not found")
    return json(user)


@bp.post("/change-password")
@openapi.summary("Change the password; other sessions are revoked, the caller gets new tokens")
@openapi.secured("bearerAuth")
@docs.body(ChangePasswordBody)
@docs.response(200, PasswordChanged)
@docs.errors(400, 401)
@authenticated
@validate(json=ChangePasswordBody)
async def change_password(request: Request, body: ChangePasswordBody):
    ctx = request.app.ctx
    pair = await accounts.change_password(
        ctx.db, ctx.queue, ctx.settings, request.ctx.identity, body.old_password, body.new_password
    )
    return json(PasswordChanged(**asdict(pair), message="Password changed successfully"))


@bp.post("/logout")
@openapi.summary("Log out: revokes this session's tokens (and the given refresh token's session)")
@openapi.secured("bearerAuth")
@docs.response(200, docs.Message)
@docs.errors(401)
@authenticated
async def logout(request: Request):
    body = request.json if request.body else None
    token = None
    if isinstance(body, dict) and isinstance(body.get("refresh_token"), str):
        token = body["refresh_token"]
    ctx = request.app.ctx
    await accounts.logout(ctx.db, ctx.queue, ctx.settings, request.ctx.identity, token)
    return json(docs.Message("Logout successful"))
