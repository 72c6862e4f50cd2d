"""Chat history in Redis (the CACHE server), shared by every API instance.

Per user and session: a list of JSON messages. A question and its answer are
appended together in one MULTI/EXEC transaction (RPUSH both, LTRIM to the cap,
refresh the expiries, touch the user's session index), so two instances
answering turns of one session at the same time never lose a turn and a
question is always followed by its own answer. The expiry slides: every turn
pushes it `ttl` seconds ahead. Session ids are per user (every key carries the
user id): another user presenting the same id gets a session of their own and
sees nothing of this one, so no one can take an id first and lock its owner
out (a global owner key once allowed exactly that).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, cast

from siprems import jsonutil, keys
from siprems.redis_client import Redis

# Sessions listed by /api/chat/sessions (most recent first).
MAX_LISTED_SESSIONS = 100


@dataclass
class HistoryEntry:
    """A message as the contract lists it (Gemini's shape)."""

    role: Literal["user", "model"]
    parts: list[str]
    timestamp: str  # ISO 8601, UTC


@dataclass
class Session:
    session_id: str
    last_activity: str  # ISO 8601, UTC
    message_count: int
    title: str  # the first question, cut at 80 characters


@dataclass(frozen=True)
class Message:
    role: Literal["user", "model"]
    text: str
    timestamp: str  # ISO 8601, UTC

    def to_json(self) -> bytes:
        return jsonutil.dumps({"role": self.role, "text": self.text, "timestamp": self.timestamp})

    @classmethod
    def from_json(cls, raw: bytes | str) -> Message:
        data = jsonutil.loads(raw)
        return cls(data["role"], data["text"], data["timestamp"])

    def public(self) -> HistoryEntry:
        return HistoryEntry(self.role, [self.text], self.timestamp)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ChatHistory:
    """History operations for one Redis client. `max_turns` counts exchanges
    (a question plus its answer), so the list keeps 2 x max_turns messages."""

    def __init__(self, redis: Redis, *, max_turns: int, ttl_seconds: int):
        self.redis = redis
        self.max_messages = max(2, 2 * max_turns)
        self.ttl = max(1, ttl_seconds)

    async def exists(self, user_id: int, session_id: str) -> bool:
        return bool(await self.redis.exists(keys.chat_history(user_id, session_id)))

    async def messages(self, user_id: int, session_id: str, limit: int | None = None) -> list[Message]:
        start = -limit if limit else 0
        raw = await self.redis.lrange(keys.chat_history(user_id, session_id), start, -1)
        return [Message.from_json(item) for item in raw]

    async def append_exchange(self, user_id: int, session_id: str, question: Message, answer: Message) -> None:
        """Append a question and its answer atomically; slide every expiry."""
        history = keys.chat_history(user_id, session_id)
        sessions = keys.chat_sessions(user_id)
        now_ms = int(time.time() * 1000)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(history, question.to_json(), answer.to_json())
            pipe.ltrim(history, -self.max_messages, -1)
            pipe.expire(history, self.ttl)
            pipe.zadd(sessions, {session_id: now_ms})
            pipe.zremrangebyscore(sessions, "-inf", now_ms - self.ttl * 1000)
            pipe.expire(sessions, self.ttl)
            await pipe.execute()

    async def delete(self, user_id: int, session_id: str) -> bool:
        """Remove a session of this user. False if they have no such session."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.chat_history(user_id, session_id))
            pipe.zrem(keys.chat_sessions(user_id), session_id)
            deleted, unindexed = await pipe.execute()
        return bool(deleted or unindexed)

    async def sessions(self, user_id: int) -> list[Session]:
        """The user's live sessions, most recent first, with message counts and
        the first question as a title. Sessions whose history expired or was
        evicted are dropped from the index."""
        index = keys.chat_sessions(user_id)
        await self.redis.zremrangebyscore(index, "-inf", int(time.time() * 1000) - self.ttl * 1000)
        # (member, score) pairs; members are bytes (the client does not decode responses)
        entries = cast(
            list[tuple[bytes, float]], await self.redis.zrevrange(index, 0, MAX_LISTED_SESSIONS - 1, withscores=True)
        )
        if not entries:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for session_id, _ in entries:
                key = keys.chat_history(user_id, session_id.decode())
                pipe.llen(key)
                pipe.lindex(key, 0)
            replies = await pipe.execute()
        result: list[Session] = []
        stale = []
        for i, (session_id, score) in enumerate(entries):
            count, first = replies[2 * i], replies[2 * i + 1]
            sid = session_id.decode()
            if not count:
                stale.append(sid)
                continue
            title = Message.from_json(first).text if first else ""
            last = datetime.fromtimestamp(score / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            result.append(Session(sid, last, int(count), title[:80]))
        if stale:
            await self.redis.zrem(index, *stale)
        return result
