"""Chat history against the stack's cache Redis: the cap, the sliding expiry,
atomic appends from two clients at once, session ownership and the index."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import redis.asyncio as aioredis

from siprems import keys
from siprems.chat.history import ChatHistory, Message, now_iso


@pytest.fixture()
async def redis_clients(stack):
    url = f"redis://127.0.0.1:{stack.ports.redis}/0"
    # Two "instances"; a blocking pool so 300 concurrent calls wait for a
    # connection instead of failing with "Too many connections".
    clients = [
        aioredis.Redis(connection_pool=aioredis.BlockingConnectionPool.from_url(url, max_connections=20))
        for _ in range(2)
    ]
    yield clients
    for c in clients:
        await c.aclose()


def _pair(i: int) -> tuple[Message, Message]:
    return Message("user", f"q{i}", now_iso()), Message("model", f"a{i}", now_iso())


def _ids():
    return int(time.time() * 1000) % 10**9 + uuid.uuid4().int % 1000, str(uuid.uuid4())


async def test_history_keeps_the_last_n_exchanges(redis_clients):
    user_id, sid = _ids()
    h = ChatHistory(redis_clients[0], max_turns=3, ttl_seconds=100)
    for i in range(5):
        await h.append_exchange(user_id, sid, *_pair(i))
    assert [m.text for m in await h.messages(user_id, sid)] == ["q2", "a2", "q3", "a3", "q4", "a4"]
    assert [m.text for m in await h.messages(user_id, sid, limit=2)] == ["q4", "a4"]


async def test_every_turn_slides_the_expiry(redis_clients):
    r = redis_clients[0]
    user_id, sid = _ids()
    h = ChatHistory(r, max_turns=10, ttl_seconds=500)
    await h.append_exchange(user_id, sid, *_pair(0))
    for key in (keys.chat_history(user_id, sid), keys.chat_sessions(user_id)):
        await r.expire(key, 5)
    await h.append_exchange(user_id, sid, *_pair(1))
    for key in (keys.chat_history(user_id, sid), keys.chat_sessions(user_id)):
        assert 490 <= await r.ttl(key) <= 500, key


async def test_concurrent_appends_from_two_clients_lose_nothing(redis_clients):
    user_id, sid = _ids()
    a, b = (ChatHistory(c, max_turns=1000, ttl_seconds=100) for c in redis_clients)
    await asyncio.gather(*[(a if i % 2 else b).append_exchange(user_id, sid, *_pair(i)) for i in range(300)])
    texts = [m.text for m in await a.messages(user_id, sid)]
    assert len(texts) == 600
    assert sorted(texts[::2], key=lambda t: int(t[1:])) == [f"q{i}" for i in range(300)]
    assert all(answer == "a" + question[1:] for question, answer in zip(texts[::2], texts[1::2], strict=False))


async def test_session_ids_are_per_user(redis_clients):
    h = ChatHistory(redis_clients[0], max_turns=10, ttl_seconds=100)
    owner, _ = _ids()
    other = owner + 1
    sid = str(uuid.uuid4())
    await h.append_exchange(other, sid, *_pair(7))  # the other user uses the id first...
    await h.append_exchange(owner, sid, *_pair(0))  # ...and it is still the owner's too
    assert [m.text for m in await h.messages(owner, sid)] == ["q0", "a0"]
    assert [m.text for m in await h.messages(other, sid)] == ["q7", "a7"]
    assert await h.delete(other, sid)
    assert not await h.delete(other, sid)
    assert await h.exists(owner, sid) and not await h.exists(other, sid)
    assert await h.delete(owner, sid)
    assert not await h.exists(owner, sid)


async def test_session_index_drops_expired_and_evicted_sessions(redis_clients):
    r = redis_clients[0]
    user_id, _ = _ids()
    h = ChatHistory(r, max_turns=10, ttl_seconds=100)
    live, evicted, expired = (str(uuid.uuid4()) for _ in range(3))
    for sid in (expired, evicted, live):
        await h.append_exchange(user_id, sid, *_pair(0))
    await r.zadd(keys.chat_sessions(user_id), {expired: int(time.time() * 1000) - 200_000})
    await r.delete(keys.chat_history(user_id, evicted))  # as if evicted under memory pressure
    listed = await h.sessions(user_id)
    assert [s.session_id for s in listed] == [live]
    assert listed[0].message_count == 2 and listed[0].title == "q0"
    assert await r.zcard(keys.chat_sessions(user_id)) == 1
