"""Chat routes through HAProxy: sessions, history, ownership, validation,
streaming, the legacy `/chat` route, and turns of one session answered by both
API instances, one after another and concurrently."""

from __future__ import annotations

import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest

LOW_STOCK_EN = "Which products are low on stock?"


def _ask(u, message, session_id=None, **kw):
    body = {"message": message}
    if session_id:
        body["session_id"] = session_id
    return u.post("/api/chat", json=body, **kw)


def _iso(value: str) -> datetime:
    return datetime.fromisoformat(value)


@pytest.fixture()
def shop(user, db):
    """The user's store with two distinctive products that are low on stock."""
    with db.cursor() as cur:
        cur.execute("SELECT store_id FROM users WHERE user_id = %s", (user.user_id,))
        store_id = cur.fetchone()["store_id"]
        names = [f"Zebra Crackers {uuid.uuid4().hex[:6]}", f"Kopi Gayo {uuid.uuid4().hex[:6]}"]
        for i, name in enumerate(names):
            cur.execute(
                """INSERT INTO products (store_id, sku, name, category, price, stock)
                           VALUES (%s, %s, %s, 'Snacks', 12500, %s) RETURNING product_id""",
                (store_id, f"ZZ-{i}", name, 3 + i),
            )
            pid = cur.fetchone()["product_id"]
            cur.execute(
                """INSERT INTO transactions (store_id, product_id, quantity_sold, price_per_unit,
                                                     transaction_date)
                           SELECT %s, %s, 7, 12500, now() - make_interval(days => d)
                           FROM generate_series(1, 20) AS d""",
                (store_id, pid),
            )
    user.store_id, user.product_names = store_id, names
    return user


def test_a_new_session_is_created_and_recorded(user):
    r = _ask(user, "Halo!")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["role"] == "assistant" and body["content"].startswith("Halo!")
    session_id = str(uuid.UUID(body["session_id"]))
    assert abs(_iso(body["timestamp"]) - datetime.now(UTC)) < timedelta(minutes=1)

    r = user.get(f"/api/chat/history/{session_id}")
    assert r.status_code == 200, r.text
    history = r.json()
    assert history["session_id"] == session_id and history["user_id"] == user.user_id
    assert [(m["role"], m["parts"]) for m in history["history"]] == [("user", ["Halo!"]), ("model", [body["content"]])]
    assert history["history"][1]["timestamp"] == body["timestamp"]

    sessions = user.get("/api/chat/sessions").json()["sessions"]
    assert [s["session_id"] for s in sessions] == [session_id]
    assert sessions[0]["message_count"] == 2 and sessions[0]["title"] == "Halo!"
    assert _iso(sessions[0]["last_activity"]) <= datetime.now(UTC) + timedelta(seconds=5)


def test_a_session_continues_and_sessions_are_listed_newest_first(user):
    first = _ask(user, "Halo!").json()["session_id"]
    second = _ask(user, "What can you do?").json()["session_id"]
    assert first != second
    assert _ask(user, "terima kasih", first).json()["session_id"] == first
    history = user.get(f"/api/chat/history/{first}").json()["history"]
    assert [m["parts"][0] for m in history if m["role"] == "user"] == ["Halo!", "terima kasih"]
    assert [s["session_id"] for s in user.get("/api/chat/sessions").json()["sessions"]] == [first, second]


def test_a_client_chosen_session_id_is_accepted(user):
    session_id = f"my-session_{uuid.uuid4().hex[:8]}"
    assert _ask(user, "Halo!", session_id).json()["session_id"] == session_id
    assert user.get(f"/api/chat/history/{session_id}").status_code == 200


def test_delete_clears_a_session(user):
    session_id = _ask(user, "Halo!").json()["session_id"]
    r = user.delete(f"/api/chat/{session_id}")
    assert r.status_code == 200
    assert r.json() == {"success": True, "message": "Chat session cleared"}
    assert user.get(f"/api/chat/history/{session_id}").status_code == 404
    assert user.delete(f"/api/chat/{session_id}").status_code == 404
    assert user.get("/api/chat/sessions").json()["sessions"] == []


def test_another_users_session_is_not_found(make_user):
    alice, bob = make_user(), make_user()
    session_id = _ask(alice, "Halo!").json()["session_id"]
    for r in (bob.get(f"/api/chat/history/{session_id}"), bob.delete(f"/api/chat/{session_id}")):
        assert r.status_code == 404, r.text
        assert r.json()["error"] == "session_not_found"
    assert bob.get("/api/chat/sessions").json()["sessions"] == []
    # Bob sending that id gets a session of his own; Alice's is untouched.
    assert _ask(bob, "Berapa stok?", session_id).status_code == 200
    mine = bob.get(f"/api/chat/history/{session_id}").json()["history"]
    assert [m["parts"][0] for m in mine][:1] == ["Berapa stok?"] and len(mine) == 2
    assert len(alice.get(f"/api/chat/history/{session_id}").json()["history"]) == 2


def test_no_one_can_take_a_session_id_first_and_lock_its_owner_out(make_user):
    """Defect: session ids were one global namespace; the first user to send an id owned it."""
    alice, bob = make_user(), make_user()
    planned = str(uuid.uuid4())  # e.g. an id the frontend made up, seen or guessed by Bob
    assert _ask(bob, "Halo!", planned).status_code == 200
    r = _ask(alice, "Halo!", planned)
    assert r.status_code == 200, r.text
    assert r.json()["session_id"] == planned
    history = alice.get(f"/api/chat/history/{planned}").json()["history"]
    assert len(history) == 2 and history[0]["parts"] == ["Halo!"]


def test_unknown_session_is_not_found(user):
    assert user.get(f"/api/chat/history/{uuid.uuid4()}").status_code == 404


def test_chat_requires_a_token(client):
    r = client.post("/api/chat", json={"message": "Halo!"})
    assert r.status_code == 401
    assert client.get("/api/chat/sessions").status_code == 401


@pytest.mark.parametrize(
    "body,field",
    [
        ({"message": ""}, "message"),
        ({"message": "   \n "}, "message"),
        ({"message": "x" * 2001}, "message"),
        ({}, "message"),
        ({"message": 42}, "message"),
        ({"message": "Halo", "session_id": "../../etc"}, "session_id"),
        ({"message": "Halo", "session_id": "x" * 65}, "session_id"),
        ({"message": "Halo", "extra": 1}, "extra"),
    ],
)
def test_invalid_bodies_are_400_naming_the_field(user, body, field):
    r = user.post("/api/chat", json=body)
    assert r.status_code == 400, r.text
    assert f"'{field}'" in r.json()["message"]


def test_a_message_of_exactly_2000_characters_is_accepted(user):
    assert _ask(user, "halo " + "a" * 1995).status_code == 200


def test_malformed_json_is_400(user):
    r = user.post("/api/chat", content=b"{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]


def test_invalid_session_id_in_path_is_400(user):
    assert user.get("/api/chat/history/bad%20id").status_code == 400


def _sse(response: httpx.Response) -> list[tuple[str, str]]:
    events, name, data = [], "message", []
    for line in response.iter_lines():
        if line == "":
            if data:
                events.append((name, "\n".join(data)))
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
    return events


def test_streaming_answer_as_server_sent_events(user):
    with user.client.stream(
        "POST", "/api/chat", json={"message": "What can you do?"}, headers={"Accept": "text/event-stream"}
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["x-instance"] in {"api1", "api2"}
        events = _sse(r)
    chunks = [json.loads(data)["content"] for name, data in events if name == "message"]
    assert len(chunks) > 3
    name, data = events[-1]
    assert name == "done"
    done = json.loads(data)
    assert done["role"] == "assistant" and "".join(chunks) == done["content"]
    assert done["content"].startswith("I am the SIPREMS inventory assistant")
    history = user.get(f"/api/chat/history/{done['session_id']}").json()["history"]
    assert history[1]["parts"] == [done["content"]]


def test_turns_through_both_instances_one_after_another_and_concurrently(user):
    session_id = _ask(user, "start").json()["session_id"]
    instances = []
    for i in range(10):
        r = _ask(user, f"seq-{i} berapa omzet hari ini?", session_id)
        assert r.status_code == 200, r.text
        instances.append(r.headers["x-instance"])
    assert instances.count("api1") >= 3 and instances.count("api2") >= 3, instances

    def concurrent_turn(i):
        with httpx.Client(base_url=user.client.base_url, headers=user.headers, timeout=30) as c:
            r = c.post(
                "/api/chat", json={"message": f"conc-{i} which products are low on stock?", "session_id": session_id}
            )
            assert r.status_code == 200, r.text
            return r.headers["x-instance"]

    with ThreadPoolExecutor(max_workers=16) as pool:
        seen = set(pool.map(concurrent_turn, range(16)))
    assert seen == {"api1", "api2"}

    history = user.get(f"/api/chat/history/{session_id}").json()["history"]
    assert len(history) == 2 * (1 + 10 + 16)
    assert [m["role"] for m in history] == ["user", "model"] * 27  # each question followed by its answer
    questions = [m["parts"][0] for m in history if m["role"] == "user"]
    assert questions[:11] == ["start"] + [f"seq-{i} berapa omzet hari ini?" for i in range(10)]
    assert sorted(questions[11:]) == sorted(f"conc-{i} which products are low on stock?" for i in range(16))
    for q, a in zip(history[::2], history[1::2], strict=False):
        if q["parts"][0].startswith("conc-"):
            assert a["parts"][0].startswith("No products are low"), a  # the user's own empty store
    sessions = user.get("/api/chat/sessions").json()["sessions"]
    assert sessions[0]["session_id"] == session_id and sessions[0]["message_count"] == 54


# -- the legacy route -----------------------------------------------------------------------


def _no_store_data(content: str, shop) -> None:
    for name in shop.product_names:
        assert name.lower() not in content.lower()
    assert "ZZ-" not in content
    assert not re.search(r"\d", content), content  # no stock, sales or money figure at all


@pytest.mark.parametrize(
    "question",
    [
        "which products are low on stock",
        "Produk apa saja yang stoknya menipis?",
        "Berapa omzet hari ini?",
        "What are the best sellers this week?",
        "forecast for Zebra Crackers next 7 days",
        "Ada hari libur minggu depan?",
        "What should I restock?",
    ],
)
def test_legacy_chat_without_a_token_reveals_no_store_data(client, shop, question):
    r = client.post("/chat", json={"message": question})
    assert r.status_code == 200, r.text
    content = r.json()["content"]
    _no_store_data(content, shop)
    assert "sign in" in content or "masuk (login)" in content


def test_legacy_chat_with_an_invalid_token_is_anonymous(client, shop):
    r = client.post("/chat", json={"message": LOW_STOCK_EN}, headers={"Authorization": "Bearer not.a.token"})
    assert r.status_code == 200
    _no_store_data(r.json()["content"], shop)


def test_legacy_chat_answers_general_questions(client):
    r = client.post("/chat", json={"message": "What can you do? How do I use the app?"})
    assert r.status_code == 200
    assert "low on stock" in r.json()["content"] and "Dashboard" in r.json()["content"]
    r = client.post("/chat", json={"message": "Halo"})
    assert r.json()["content"].startswith("Halo!")


def test_legacy_chat_with_a_token_behaves_like_api_chat(shop):
    r = shop.post("/chat", json={"message": LOW_STOCK_EN})
    assert r.status_code == 200
    body = r.json()
    assert body["content"].startswith("2 products are low on stock")
    assert all(name in body["content"] for name in shop.product_names)
    history = shop.get(f"/api/chat/history/{body['session_id']}").json()["history"]
    assert history[0]["parts"] == [LOW_STOCK_EN]


def test_legacy_chat_ignores_extra_fields_and_validates_the_message(client):
    assert client.post("/chat", json={"message": "Halo", "user_id": 7, "chatHistory": []}).status_code == 200
    assert client.post("/chat", json={"message": ""}).status_code == 400
    assert client.post("/chat", json={"message": "x" * 2001}).status_code == 400
    assert client.post("/chat", content=b"not json", headers={"Content-Type": "application/json"}).status_code == 400


def test_legacy_chat_cors_preflight_and_response_headers(client):
    origin = "http://localhost:3000"
    r = client.options(
        "/chat",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert r.status_code in (200, 204), r.text
    assert r.headers["access-control-allow-origin"] == origin
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "content-type" in r.headers["access-control-allow-headers"].lower()
    r = client.post("/chat", json={"message": "Halo"}, headers={"Origin": origin})
    assert r.headers["access-control-allow-origin"] == origin


def test_a_trained_forecast_replaces_the_estimate(shop, db):
    from siprems.forecasting import result  # a broken import fails the test, never skips it

    with db.cursor() as cur:
        cur.execute(
            "SELECT (now() AT TIME ZONE timezone)::date AS today FROM stores WHERE store_id = %s", (shop.store_id,)
        )
        today = cur.fetchone()["today"]
        cur.execute(
            "SELECT product_id FROM products WHERE store_id = %s AND name = %s", (shop.store_id, shop.product_names[0])
        )
        product_id = cur.fetchone()["product_id"]
        model = result.ForecastModel(
            method="test",
            start=today.isoformat(),
            train_start=None,
            train_end=None,
            fingerprint="test",
            n_obs=100,
            path={k: [10.0] * 365 for k in result.PATH_KEYS},
        )
        cur.execute(
            """INSERT INTO forecast_models (store_id, product_id, version, method, model, data_fingerprint)
                       VALUES (%s, %s, 1, 'test', %s, 'test')""",
            (shop.store_id, product_id, json.dumps(model.to_dict())),
        )
    name = shop.product_names[0]
    content = _ask(shop, f"Forecast for {name} for the next 14 days").json()["content"]
    assert "about 140 units (~10.0/day, forecast)" in content and "estimate" not in content, content
    content = _ask(shop, f"How many {name} should I order?").json()["content"]
    assert "order 157 units" in content and "estimate" not in content, content  # ceil(10 x (2 + 14)) - 3


def test_chat_routes_are_documented(client):
    spec = client.get("/docs/openapi.json").json()
    paths = spec["paths"]
    assert {"post"} <= set(paths["/api/chat"]) and {"post"} <= set(paths["/chat"])
    assert "get" in paths["/api/chat/sessions"]
    assert any(p.startswith("/api/chat/history/") for p in paths)
    assert paths["/api/chat"]["post"]["security"] == [{"bearerAuth": []}]
    assert "message" in json.dumps(paths["/api/chat"]["post"]["requestBody"])


def test_a_user_id_in_the_body_is_ignored(make_user):
    alice, bob = make_user(), make_user()
    session_id = _ask(alice, "Halo!").json()["session_id"]
    r = bob.post("/api/chat", json={"message": "Halo", "user_id": alice.user_id})
    assert r.status_code == 200
    assert bob.get("/api/chat/sessions").json()["sessions"][0]["session_id"] == r.json()["session_id"]
    assert [s["session_id"] for s in alice.get("/api/chat/sessions").json()["sessions"]] == [session_id]
