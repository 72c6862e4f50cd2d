"""`/api/chat`: the inventory assistant, its sessions and history; and the
legacy `POST /chat` the current frontend calls without a token (general help
only unless a valid token is sent; `LEGACY_CHAT_ENABLED=false` turns it off).

`Accept: text/event-stream` on either POST returns the answer as Server-Sent
Events: `data: {"content": "<chunk>"}` events, then `event: done` whose data
is the full JSON reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sanic import Blueprint, Request
from sanic.response import json
from sanic_ext import openapi

from siprems import jsonutil
from siprems.api import docs
from siprems.api.guard import authenticated, identify
from siprems.api.validation import validate
from siprems.chat.history import HistoryEntry, Session
from siprems.chat.service import ChatService, Reply, provider_from_settings
from siprems.errors import NotFound, Unauthorized, ValidationFailed

bp = Blueprint("chat")

MAX_MESSAGE_CHARS = 2000
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _message(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    if len(value) > MAX_MESSAGE_CHARS:
        raise ValueError(f"must be at most {MAX_MESSAGE_CHARS} characters")
    return value.strip()


def _session(value: str | None) -> str | None:
    if value is not None and not _SESSION_ID.match(value):
        raise ValueError("must be 1-64 letters, digits, '-' or '_'")
    return value


class ChatBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str
    session_id: str | None = None
    # Accepted for the earlier backend's clients and ignored: the token decides whose chat it is.
    user_id: int | str | None = Field(default=None, exclude=True)
    _check_message = field_validator("message")(_message)
    _check_session = field_validator("session_id")(_session)


class LegacyChatBody(ChatBody):
    # Older clients send extra fields (user_id, chatHistory...): ignored.
    model_config = ConfigDict(extra="ignore")


@dataclass
class ReplyBody:
    role: Literal["assistant"]
    content: str
    session_id: str
    timestamp: str  # ISO 8601, UTC

    @classmethod
    def of(cls, reply: Reply) -> ReplyBody:
        return cls("assistant", reply.content, reply.session_id, reply.timestamp)


@dataclass
class Sessions:
    sessions: list[Session]


@dataclass
class History:
    session_id: str
    user_id: int
    history: list[HistoryEntry]


@dataclass
class Cleared:
    success: bool
    message: str


@bp.before_server_start
async def start_provider(app) -> None:
    app.ctx.chat_provider = provider_from_settings(app.ctx.settings)


@bp.after_server_stop
async def stop_provider(app) -> None:
    provider = getattr(app.ctx, "chat_provider", None)
    if provider is not None:
        await provider.aclose()


def _service(request: Request) -> ChatService:
    ctx = request.app.ctx
    return ChatService(ctx.db, ctx.redis, ctx.settings, ctx.chat_provider)


def _path_session(session_id: str) -> str:
    if not _SESSION_ID.match(session_id):
        raise ValidationFailed("Field 'session_id' must be 1-64 letters, digits, '-' or '_'.")
    return session_id


def _chunks(text: str, size: int = 48) -> list[str]:
    """Word-aligned pieces of about `size` characters (whitespace kept)."""
    pieces, current = [], ""
    for word in re.findall(r"\S+\s*|\s+", text):
        if current and len(current) + len(word) > size:
            pieces.append(current)
            current = ""
        current += word
    return pieces + ([current] if current else [])


async def _reply(request: Request, reply: Reply, authed: bool):
    headers = {"X-Chat-History": "unavailable"} if authed and not reply.history_saved else {}
    if "text/event-stream" not in request.headers.get("accept", ""):
        return json(ReplyBody.of(reply), headers=headers)
    response = await request.respond(
        content_type="text/event-stream; charset=utf-8",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **headers},
    )
    for chunk in _chunks(reply.content):
        await response.send(f"data: {jsonutil.dumps_str({'content': chunk})}\n\n")
    await response.send(f"event: done\ndata: {jsonutil.dumps_str(ReplyBody.of(reply))}\n\n")
    await response.eof()
    return None


@bp.post("/api/chat")
@openapi.summary("Ask the inventory assistant (JSON, or SSE with Accept: text/event-stream)")
@openapi.secured("bearerAuth")
@docs.body(ChatBody)
@docs.response(200, ReplyBody)
@docs.errors(400, 401, 404, 502, 503, 504)
@authenticated
@validate(json=ChatBody)
async def chat(request: Request, body: ChatBody):
    reply = await _service(request).ask(request.ctx.identity, body.message, body.session_id)
    return await _reply(request, reply, authed=True)


@bp.get("/api/chat/sessions")
@openapi.summary("The caller's chat sessions, most recent activity first")
@openapi.secured("bearerAuth")
@docs.response(200, Sessions)
@docs.errors(401, 503)
@authenticated
async def sessions(request: Request):
    return json(Sessions(await _service(request).sessions(request.ctx.identity)))


@bp.get("/api/chat/history/<session_id:str>")
@openapi.summary("The messages of one of the caller's sessions")
@openapi.secured("bearerAuth")
@docs.response(200, History)
@docs.errors(400, 401, 404, 503)
@authenticated
async def history(request: Request, session_id: str):
    session_id = _path_session(session_id)
    messages = await _service(request).messages(request.ctx.identity, session_id)
    return json(History(session_id, request.ctx.identity.user_id, messages))


@bp.delete("/api/chat/<session_id:str>")
@openapi.summary("Delete one of the caller's sessions")
@openapi.secured("bearerAuth")
@docs.response(200, Cleared)
@docs.errors(400, 401, 404, 503)
@authenticated
async def clear(request: Request, session_id: str):
    await _service(request).delete(request.ctx.identity, _path_session(session_id))
    return json(Cleared(True, "Chat session cleared"))


@bp.post("/chat")
@openapi.summary("Legacy chat for the current frontend: no token = general help only")
@docs.body(LegacyChatBody)
@docs.response(200, ReplyBody)
@docs.errors(400, 404, 502, 503, 504)
async def legacy_chat(request: Request):
    if not request.app.ctx.settings.legacy_chat_enabled:
        raise NotFound("The requested URL was not found on this server.")
    body = LegacyChatBody.model_validate(request.json)
    try:
        identity = await identify(request)
    except Unauthorized:
        identity = None  # an invalid or expired token is treated as no token
    reply = await _service(request).ask(identity, body.message, body.session_id)
    return await _reply(request, reply, authed=identity is not None)
