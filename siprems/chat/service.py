"""One chat turn end to end: the session, the answer (Gemini when configured,
else the built-in assistant; general help only for anonymous callers), and
the history. No Sanic here: the routes in `siprems/api/chat.py` call this.

If Redis (the cache server) is down, a question is still answered (the
answers come from PostgreSQL, the history is only context) but the turn is
not saved: `Reply.history_saved` is False and the route says so in the
`X-Chat-History: unavailable` header. Reading, listing or deleting history
needs Redis and answers 503.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import redis.exceptions

from siprems.auth.tokens import Identity
from siprems.chat import assistant, facts, general, grounding
from siprems.chat.gemini import GeminiProvider, Turn
from siprems.chat.history import ChatHistory, HistoryEntry, Message, Session, now_iso
from siprems.config import Settings
from siprems.db import Pool
from siprems.errors import NotFound
from siprems.redis_client import Redis

log = logging.getLogger("siprems.chat")

REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
# What of the history goes into a Gemini prompt.
PROMPT_HISTORY_MESSAGES = 20
PROMPT_HISTORY_CHARS = 8000


@dataclass(frozen=True)
class Reply:
    content: str
    session_id: str
    timestamp: str
    history_saved: bool


def provider_from_settings(settings: Settings) -> GeminiProvider | None:
    if not settings.gemini_api_key:
        return None
    return GeminiProvider(
        api_key=settings.gemini_api_key,
        model=settings.gemini_model,
        base_url=settings.gemini_base_url,
        timeout=settings.gemini_timeout,
    )


def _session_not_found() -> NotFound:
    return NotFound("Chat session not found.", code="session_not_found")


class ChatService:
    def __init__(self, pool: Pool, redis: Redis, settings: Settings, provider: GeminiProvider | None) -> None:
        self.pool = pool
        self.provider = provider
        self.history = ChatHistory(redis, max_turns=settings.chat_history_turns, ttl_seconds=settings.chat_ttl_seconds)

    async def ask(self, identity: Identity | None, message: str, session_id: str | None) -> Reply:
        session_id = session_id or str(uuid.uuid4())
        if identity is None:
            # No token: help and small talk only, no store data, nothing stored.
            text = general.general_answer(message).text
            return Reply(text, session_id, now_iso(), history_saved=False)
        question = Message("user", message, now_iso())
        saved, past = True, []
        try:
            if self.provider is not None:
                past = await self.history.messages(identity.user_id, session_id, PROMPT_HISTORY_MESSAGES)
        except REDIS_ERRORS as exc:
            log.warning("chat history unavailable, answering without it: %r", exc)
            saved = False
        text = await self._answer(identity, message, past)
        answer = Message("model", text, now_iso())
        if saved:
            try:
                await self.history.append_exchange(identity.user_id, session_id, question, answer)
            except REDIS_ERRORS as exc:
                log.warning("chat turn not saved (Redis down): %r", exc)
                saved = False
        return Reply(text, session_id, answer.timestamp, saved)

    async def _answer(self, identity: Identity, message: str, past: list[Message]) -> str:
        if self.provider is None:
            return (
                await assistant.BuiltinAssistant().answer(self.pool, identity.store_id, message, identity.role)
            ).text
        store = await facts.answer_context(self.pool, identity.store_id)
        if store is None:
            raise NotFound("Your store was not found.", code="store_not_found")
        data = await grounding.summary(self.pool, store, message, identity.role)
        turns = _prompt_history(past) + [Turn("user", message)]
        return await self.provider.generate(grounding.system_prompt(store, data), turns)

    async def messages(self, identity: Identity, session_id: str) -> list[HistoryEntry]:
        if not await self.history.exists(identity.user_id, session_id):
            raise _session_not_found()
        return [m.public() for m in await self.history.messages(identity.user_id, session_id)]

    async def delete(self, identity: Identity, session_id: str) -> None:
        if not await self.history.delete(identity.user_id, session_id):
            raise _session_not_found()

    async def sessions(self, identity: Identity) -> list[Session]:
        return await self.history.sessions(identity.user_id)


def _prompt_history(past: list[Message]) -> list[Turn]:
    """The most recent messages that fit the character budget, starting with a
    question (Gemini expects a conversation to open with the user)."""
    kept: list[Message] = []
    size = 0
    for m in reversed(past):
        size += len(m.text)
        if size > PROMPT_HISTORY_CHARS:
            break
        kept.append(m)
    kept.reverse()
    while kept and kept[0].role != "user":
        kept.pop(0)
    return [Turn(m.role, m.text) for m in kept]
