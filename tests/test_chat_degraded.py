"""An API instance whose cache Redis is unreachable and whose legacy `/chat`
route is turned off: questions are still answered (without history, said in
the X-Chat-History header); history reads answer 503 JSON; `/chat` is 404."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from devtools.stack import REPO, free_port, wait_for_http


@pytest.fixture(scope="module")
def degraded_api(stack):
    port, dead_redis = free_port(), free_port()  # nothing listens on dead_redis
    log = open(stack.root / "log" / "api-degraded.log", "ab")  # noqa: SIM115 (open for the fixture's life)
    env = stack.env(
        SIPREMS_INSTANCE="api-degraded",
        REDIS_URL=f"redis://127.0.0.1:{dead_redis}/0",
        LEGACY_CHAT_ENABLED="false",
        WORKERS="1",
        MIGRATE_ON_START="false",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "siprems", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=str(REPO),
        start_new_session=True,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", timeout=60, proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture()
def client(degraded_api, user):
    with httpx.Client(base_url=degraded_api, headers=user.headers, timeout=30) as c:
        yield c


def test_chat_answers_without_history_when_redis_is_down(client):
    r = client.post("/api/chat", json={"message": "Which products are low on stock?"})
    assert r.status_code == 200, r.text
    assert r.headers["x-chat-history"] == "unavailable"
    assert r.json()["content"] == "No products are low on stock right now."
    assert r.json()["session_id"]


@pytest.mark.parametrize(
    "method,path", [("GET", "/api/chat/sessions"), ("GET", "/api/chat/history/abc"), ("DELETE", "/api/chat/abc")]
)
def test_history_routes_are_503_json_when_redis_is_down(client, method, path):
    r = client.request(method, path)
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "redis_unavailable" and r.headers["retry-after"]


def test_legacy_chat_can_be_turned_off(degraded_api):
    with httpx.Client(base_url=degraded_api, timeout=30) as c:
        r = c.post("/chat", json={"message": "Halo"})
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"
