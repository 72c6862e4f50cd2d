"""The Gemini provider against a local fake that speaks `generateContent`:
success, retries on 429/5xx, malformed bodies, timeouts, refused
configuration; then an API instance configured with GEMINI_API_KEY and
GEMINI_BASE_URL pointing at the fake, end to end."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from devtools.stack import REPO, free_port, wait_for_http
from siprems.chat.gemini import (
    GeminiProvider,
    ProviderBadResponse,
    ProviderTimeout,
    ProviderUnavailable,
    Turn,
)

KEY = "test-key-" + uuid.uuid4().hex[:8]
MODEL = "gemini-test"


def ok(text: str) -> dict:
    return {
        "status": 200,
        "body": {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}]},
    }


def status(code: int, headers: dict | None = None) -> dict:
    return {
        "status": code,
        "body": {"error": {"code": code, "message": "fake", "status": "FAKE"}},
        "headers": headers or {},
    }


class FakeGemini:
    """`POST /v1beta/models/{model}:generateContent`. Each request takes the
    next scripted behaviour (then `default`) and is recorded."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list[dict] = []
        self.default = ok("fake answer")
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                with fake.lock:
                    fake.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": json.loads(raw or b"null")}
                    )
                    behaviour = fake.script.pop(0) if fake.script else fake.default
                if not re.fullmatch(r"/v1beta/models/[\w.-]+:generateContent", self.path):
                    behaviour = status(404)
                time.sleep(behaviour.get("sleep", 0))
                body = behaviour.get("raw")
                if body is None:
                    body = json.dumps(behaviour["body"]).encode()
                try:
                    self.send_response(behaviour["status"])
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(body)))
                    for k, v in behaviour.get("headers", {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def reset(self, *script: dict, default: dict | None = None) -> None:
        with self.lock:
            self.requests.clear()
            self.script = list(script)
            self.default = default or ok("fake answer")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def fake():
    f = FakeGemini()
    yield f
    f.close()


@pytest.fixture()
def provider(fake):
    fake.reset()
    return GeminiProvider(api_key=KEY, model=MODEL, base_url=fake.url, timeout=1.0, backoff=0.01)


# -- the provider on its own --------------------------------------------------------------------


async def test_generate_sends_the_documented_request(fake, provider):
    fake.reset(ok("Halo dari Gemini"))
    turns = [Turn("user", "hi"), Turn("model", "hello"), Turn("user", "stok?")]
    assert await provider.generate("SYSTEM TEXT", turns) == "Halo dari Gemini"
    [req] = fake.requests
    assert req["path"] == f"/v1beta/models/{MODEL}:generateContent"  # no key in the URL
    assert req["headers"]["x-goog-api-key"] == KEY
    assert req["body"]["systemInstruction"] == {"parts": [{"text": "SYSTEM TEXT"}]}
    assert req["body"]["contents"] == [
        {"role": "user", "parts": [{"text": "hi"}]},
        {"role": "model", "parts": [{"text": "hello"}]},
        {"role": "user", "parts": [{"text": "stok?"}]},
    ]
    assert req["body"]["generationConfig"]["maxOutputTokens"] > 0
    await provider.aclose()


async def test_parts_are_joined(fake, provider):
    fake.reset({"status": 200, "body": {"candidates": [{"content": {"parts": [{"text": "a"}, {"text": "b"}]}}]}})
    assert await provider.generate("s", [Turn("user", "q")]) == "ab"


@pytest.mark.parametrize("first", [status(429), status(500), status(503), status(502)])
async def test_429_and_5xx_are_retried(fake, provider, first):
    fake.reset(first, first, ok("after retries"))
    assert await provider.generate("s", [Turn("user", "q")]) == "after retries"
    assert len(fake.requests) == 3


async def test_persistent_5xx_is_a_503(fake, provider):
    fake.reset(default=status(500))
    with pytest.raises(ProviderUnavailable) as err:
        await provider.generate("s", [Turn("user", "q")])
    assert err.value.status == 503 and err.value.code == "assistant_unavailable"
    assert len(fake.requests) == 3


async def test_persistent_429_is_a_503_busy_and_honours_retry_after(fake, provider):
    fake.reset(default=status(429, {"Retry-After": "0.2"}))
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable) as err:
        await provider.generate("s", [Turn("user", "q")])
    assert err.value.code == "assistant_busy" and err.value.headers["Retry-After"]
    assert len(fake.requests) == 3
    assert time.monotonic() - started >= 0.4  # two waits of Retry-After


@pytest.mark.parametrize("code", [400, 401, 403, 404])
async def test_a_refused_request_is_not_retried(fake, provider, code):
    fake.reset(default=status(code))
    with pytest.raises(ProviderUnavailable) as err:
        await provider.generate("s", [Turn("user", "q")])
    assert err.value.code == "assistant_misconfigured"
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    "behaviour",
    [
        {"status": 200, "raw": b"<html>not json</html>"},
        {"status": 200, "raw": b'{"candidates": [{"content": {"parts": [{"te'},
        {"status": 200, "body": {}},
        {"status": 200, "body": []},
        {"status": 200, "body": {"candidates": []}},
        {"status": 200, "body": {"candidates": ["text"]}},
        {"status": 200, "body": {"candidates": [{"content": {"parts": []}, "finishReason": "MAX_TOKENS"}]}},
        {"status": 200, "body": {"candidates": [{"content": {"parts": [{"text": "  "}]}}]}},
    ],
)
async def test_malformed_bodies_are_a_502(fake, provider, behaviour):
    fake.reset(behaviour)
    with pytest.raises(ProviderBadResponse) as err:
        await provider.generate("s", [Turn("user", "q")])
    assert err.value.status == 502 and err.value.code == "assistant_bad_response"


async def test_a_blocked_prompt_becomes_a_polite_refusal(fake, provider):
    fake.reset({"status": 200, "body": {"promptFeedback": {"blockReason": "SAFETY"}}})
    assert "can't help" in await provider.generate("s", [Turn("user", "q")])


async def test_a_timeout_is_a_504_and_not_retried(fake, provider):
    fake.reset({**ok("too late"), "sleep": 6})
    started = time.monotonic()
    with pytest.raises(ProviderTimeout) as err:
        await provider.generate("s", [Turn("user", "q")])
    assert err.value.status == 504 and err.value.code == "assistant_timeout"
    # Gave up (timeout 1 s) well before the answer came (6 s), with room for a loaded machine.
    assert time.monotonic() - started < 5.0
    assert len(fake.requests) == 1


async def test_an_unreachable_provider_is_a_503():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: connection refused
    p = GeminiProvider(api_key=KEY, model=MODEL, base_url=f"http://127.0.0.1:{port}", timeout=1.0, backoff=0.01)
    with pytest.raises(ProviderUnavailable) as err:
        await p.generate("s", [Turn("user", "q")])
    assert err.value.status == 503
    await p.aclose()


# -- an API instance configured with the fake ------------------------------------------------------


@pytest.fixture(scope="module")
def gemini_api(stack, fake):
    """One extra API process (one worker) with GEMINI_* pointing at the fake."""
    port = free_port()
    env = stack.env(
        SIPREMS_INSTANCE="api-gemini",
        GEMINI_API_KEY=KEY,
        GEMINI_BASE_URL=fake.url,
        GEMINI_MODEL=MODEL,
        GEMINI_TIMEOUT="1.5",
        WORKERS="1",
        MIGRATE_ON_START="false",
    )
    with open(stack.root / "log" / "api-gemini.log", "ab") as log:  # the child has its own copy of the fd
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
def shop_on_gemini(gemini_api, make_user, db):
    user = make_user()
    with db.cursor() as cur:
        cur.execute("SELECT store_id FROM users WHERE user_id = %s", (user.user_id,))
        store_id = cur.fetchone()["store_id"]
        cur.execute(
            """INSERT INTO products (store_id, sku, name, category, price, stock)
                       VALUES (%s, 'KG-1', 'Kopi Gayo Spesial', 'Beverages', 25000, 2) RETURNING product_id""",
            (store_id,),
        )
        pid = cur.fetchone()["product_id"]
        cur.execute(
            """INSERT INTO transactions (store_id, product_id, quantity_sold, price_per_unit, transaction_date)
                       SELECT %s, %s, 4, 25000, now() - make_interval(days => d) FROM generate_series(1, 28) d""",
            (store_id, pid),
        )
    client = httpx.Client(base_url=gemini_api, headers=user.headers, timeout=30)
    yield client
    client.close()


def test_api_answers_with_gemini_grounded_in_store_data(fake, shop_on_gemini):
    fake.reset(ok("Kopi Gayo Spesial hampir habis."))
    r = shop_on_gemini.post("/api/chat", json={"message": "Produk apa yang stoknya menipis?"})
    assert r.status_code == 200, r.text
    assert r.headers["x-instance"] == "api-gemini"
    body = r.json()
    assert body["content"] == "Kopi Gayo Spesial hampir habis." and body["role"] == "assistant"
    [req] = fake.requests
    assert req["headers"]["x-goog-api-key"] == KEY and MODEL in req["path"]
    system = req["body"]["systemInstruction"]["parts"][0]["text"]
    # The same facts the built-in assistant uses: 4 units/day over 28 days (shown), stock 2; no model yet,
    # so the stock policy's reorder level (5) decides and the order goes up to twice it.
    assert "Kopi Gayo Spesial [KG-1] stock 2, ~4.0/day, order 8" in system
    assert "1 produk stoknya menipis" in system  # the built-in answer to this question
    assert "ESTIMATE" in system
    assert req["body"]["contents"] == [{"role": "user", "parts": [{"text": "Produk apa yang stoknya menipis?"}]}]

    # The next turn carries the history.
    fake.reset(ok("Pesan 62 unit."))
    r = shop_on_gemini.post(
        "/api/chat", json={"message": "Berapa yang harus dipesan?", "session_id": body["session_id"]}
    )
    assert r.status_code == 200
    assert [c["parts"][0]["text"] for c in fake.requests[0]["body"]["contents"]] == [
        "Produk apa yang stoknya menipis?",
        "Kopi Gayo Spesial hampir habis.",
        "Berapa yang harus dipesan?",
    ]
    assert [c["role"] for c in fake.requests[0]["body"]["contents"]] == ["user", "model", "user"]


@pytest.mark.parametrize(
    "behaviour,code,error",
    [
        (status(500), 503, "assistant_unavailable"),
        (status(429), 503, "assistant_busy"),
        (status(403), 503, "assistant_misconfigured"),
        ({"status": 200, "raw": b"garbage"}, 502, "assistant_bad_response"),
        ({**ok("late"), "sleep": 3}, 504, "assistant_timeout"),
    ],
)
def test_api_turns_provider_failures_into_json_errors(fake, shop_on_gemini, behaviour, code, error):
    fake.reset(default=behaviour)
    r = shop_on_gemini.post("/api/chat", json={"message": "Halo", "session_id": "fail-" + uuid.uuid4().hex})
    assert r.status_code == code, r.text
    assert r.json()["error"] == error and r.json()["message"]
    assert "Traceback" not in r.text and KEY not in r.text
    # A failed turn is not recorded.
    assert shop_on_gemini.get("/api/chat/sessions").json()["sessions"] == []


def test_api_recovers_after_a_429(fake, shop_on_gemini):
    fake.reset(status(429), ok("ok now"))
    r = shop_on_gemini.post("/api/chat", json={"message": "Halo"})
    assert r.status_code == 200 and r.json()["content"] == "ok now"
    assert len(fake.requests) == 2


def test_api_streams_gemini_answers(fake, shop_on_gemini):
    fake.reset(ok("Satu dua tiga empat lima enam tujuh delapan sembilan sepuluh sebelas dua belas."))
    with shop_on_gemini.stream(
        "POST", "/api/chat", json={"message": "Halo"}, headers={"Accept": "text/event-stream"}
    ) as r:
        assert r.status_code == 200
        text = "".join(r.iter_text())
    assert text.rstrip().split("\n\n")[-1].startswith("event: done")
    assert '"content":"Satu dua' in text


def test_legacy_chat_without_a_token_never_calls_the_provider(fake, gemini_api):
    fake.reset()
    with httpx.Client(base_url=gemini_api, timeout=30) as c:
        r = c.post("/chat", json={"message": "Which products are low on stock?"})
    assert r.status_code == 200 and "sign in" in r.json()["content"]
    assert fake.requests == []
