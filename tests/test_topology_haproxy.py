"""HAProxy (haproxy/haproxy.cfg) for real: per-user rate limits by path class,
request ids and headers, retries that never replay a POST, keep-alive
timeouts, stats protection, graceful reload. Each test that needs its own
settings starts an extra HAProxy with the same config on free ports."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import uuid

import httpx
import jwt
import pytest

from topology_support import (
    REPO,
    Backend,
    children,
    client_from,
    established_from,
    fresh_source_address,
    wait_until,
)

LIMITS = {"RATE_GENERAL": 20, "RATE_CHAT": 8, "RATE_PREDICT": 5, "RATE_AUTH": 6}
UNROUTED = "/api/topology-probe"  # any path: the limits apply before routing (404 counts as served)


@pytest.fixture(scope="module")
def limited(stack):
    """An HAProxy with low limits in front of the stack's two API instances."""
    _, port, stats = stack.start_extra_haproxy("haproxy-limited", **{k: str(v) for k, v in LIMITS.items()})
    yield f"http://127.0.0.1:{port}", stats
    stack.stop("haproxy-limited")


def _statuses(client: httpx.Client, n: int, path: str = UNROUTED) -> list[int]:
    return [client.get(path).status_code for _ in range(n)]


def _until_limited(send, extra: int = 3) -> httpx.Response:
    """The first 429 among a few more requests once the budget is spent.
    HAProxy's rate over 10 s weighs the previous period by the time left in
    it, so when a burst straddles a period boundary it can let one or two
    requests more through than the budget (never fewer)."""
    for _ in range(extra):
        r = send()
        if r.status_code == 429:
            return r
    raise AssertionError(f"no 429 within {extra} requests over the budget (last: {r.status_code})")


def _assert_429(r: httpx.Response) -> None:
    assert r.status_code == 429, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert int(r.headers["retry-after"]) >= 1
    body = r.json()
    assert body["error"] == "rate_limited" and body["message"]
    assert r.headers["x-request-id"]


def test_user_over_limit_gets_429_while_another_user_from_same_address_is_not(limited, make_user):
    url, _ = limited
    a, b = make_user(), make_user()
    source = fresh_source_address()
    with (
        client_from(source, url, headers=a.headers) as ca,
        client_from(source, url, headers=b.headers) as cb,
        client_from(source, url) as anon,
    ):
        served = _statuses(ca, LIMITS["RATE_GENERAL"])
        assert 429 not in served, served
        over = _until_limited(lambda: ca.get(UNROUTED))
        _assert_429(over)
        assert "Too many requests" in over.json()["message"]
        # Same address, other token: its own bucket. No token: the address bucket.
        assert 429 not in _statuses(cb, LIMITS["RATE_GENERAL"] // 2)
        assert 429 not in _statuses(anon, 5)
        # /health is never limited, even for the limited user.
        assert set(_statuses(ca, 3 * LIMITS["RATE_GENERAL"], "/health")) == {200}
        # Real routes are limited the same way (the token is valid for the app too).
        assert ca.get("/api/products/").status_code == 429
        assert cb.get("/api/products/").status_code == 200


def test_auth_routes_are_limited_by_address_only_in_their_own_table(limited, make_user):
    """Defect: a token of one's own bought a fresh bucket for password guessing."""
    url, _ = limited
    a, b = make_user(), make_user()
    source = fresh_source_address()
    guess = {"email": a.email, "password": "Wrong-Guess-77"}
    with (
        client_from(source, url, headers=a.headers) as with_token,
        client_from(source, url, headers=b.headers) as other_token,
        client_from(source, url) as anon,
    ):
        sent = [anon.post("/api/auth/login", json=guess).status_code for _ in range(LIMITS["RATE_AUTH"] // 2)]
        sent += [with_token.post("/api/auth/login", json=guess).status_code for _ in range(LIMITS["RATE_AUTH"] // 2)]
        assert 429 not in sent, sent
        over = _until_limited(lambda: with_token.post("/api/auth/login", json=guess))
        _assert_429(over)
        assert "sign-in" in over.json()["message"]
        # Neither another token nor none gets a fresh bucket, for any /api/auth/ route.
        assert other_token.post("/api/auth/login", json=guess).status_code == 429
        assert anon.post("/api/auth/register", json={}).status_code == 429
        assert other_token.get("/api/auth/profile").status_code == 429
        # The general budget is separate: the same clients still reach the rest of the API.
        assert 429 not in _statuses(with_token, LIMITS["RATE_GENERAL"] // 2)
    with client_from(fresh_source_address(), url) as elsewhere:  # (b: a's own back-off may have begun)
        assert elsewhere.post("/api/auth/login", json={**guess, "email": b.email}).status_code == 401


def _raw_exchange(port: int, data: bytes, wait: float = 20.0) -> bytes:
    """Sends raw bytes to HAProxy and reads until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _parsed(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def _assert_json_error(status: int, headers: dict[str, str], body: bytes, code: int, error: str) -> None:
    assert status == code, (status, headers, body)
    assert headers["content-type"].startswith("application/json"), headers
    data = json.loads(body)
    assert data["error"] == error and isinstance(data["message"], str) and data["message"]
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in headers["content-security-policy"]


def test_haproxys_own_errors_are_json_with_security_headers_or_nothing(stack):
    """Defect: HAProxy's own 400 and 408 pages were HTML without the security headers."""
    port = stack.ports.haproxy
    # A request that reaches the rules: HAProxy's answer is JSON with the headers.
    denied = _raw_exchange(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    _assert_json_error(*_parsed(denied), 404, "not_found")
    # Malformed, or headers that never finish (`timeout http-request`, 10 s): HAProxy
    # 2.6 can only give these its HTML page or nothing; it gives nothing.
    for raw, wait in (
        (b"GET / HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n", 20),
        (b"GET /health HTTP/1.1\r\n", 30),
    ):
        answer = _raw_exchange(port, raw, wait=wait)
        assert b"<html" not in answer.lower() and answer == b"", answer


def test_every_status_haproxy_can_make_has_a_json_body():
    cfg = (REPO / "haproxy" / "haproxy.cfg").read_text()
    codes = {
        int(c) for c in re.findall(r"^\s*http-error status (\d+) content-type application/json", cfg, re.MULTILINE)
    }
    # HAProxy's list of statuses it can generate (errorfile/http-error accept exactly these).
    assert codes == {400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504}
    assert "errorloc" not in cfg


def test_diagnostics_are_not_public(client):
    for path in ("/metrics", "/cache-stats", "/metrics?format=json"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert r.json()["error"] == "not_found" and r.headers["x-content-type-options"] == "nosniff"


def test_chat_and_predict_limits_are_independent_of_the_general_one(limited, make_user):
    url, _ = limited
    user = make_user()
    with client_from(fresh_source_address(), url, headers=user.headers) as c:
        assert 429 not in _statuses(c, LIMITS["RATE_GENERAL"])
        _assert_429(_until_limited(lambda: c.get(UNROUTED)))  # general budget spent
        predict = _statuses(c, LIMITS["RATE_PREDICT"], "/api/predict")
        assert 429 not in predict, predict  # ... predict still has its own
        over = _until_limited(lambda: c.get("/api/predict"))
        _assert_429(over)
        assert "prediction" in over.json()["message"]
        chat = _statuses(c, LIMITS["RATE_CHAT"] // 2, "/api/chat") + _statuses(c, LIMITS["RATE_CHAT"] // 2, "/chat")
        assert 429 not in chat, chat  # ... and chat too (/chat and /api/chat share it)
        over = _until_limited(lambda: c.post("/chat", json={"message": "hi"}))
        _assert_429(over)
        assert "chat" in over.json()["message"]
    other = make_user()
    with client_from(fresh_source_address(), url, headers=other.headers) as c:
        # Spending chat and predict first leaves the general budget whole.
        _statuses(c, LIMITS["RATE_CHAT"] + 2, "/api/chat")
        _statuses(c, LIMITS["RATE_PREDICT"] + 2, "/api/predict/anything")
        assert 429 not in _statuses(c, LIMITS["RATE_GENERAL"])


def test_forged_or_expired_token_is_limited_by_address(stack, limited, make_user):
    url, _ = limited
    victim = make_user()
    wrong_secret = "not-the-secret-but-just-as-long-as-the-real-one"
    forged = jwt.encode({"sub": str(victim.user_id), "exp": int(time.time()) + 600}, wrong_secret, "HS256")
    expired = jwt.encode({"sub": str(victim.user_id), "exp": int(time.time()) - 5}, stack.jwt_secret, "HS256")
    source = fresh_source_address()
    with client_from(source, url) as c:
        half = LIMITS["RATE_GENERAL"] // 2
        codes = [c.get(UNROUTED, headers={"Authorization": f"Bearer {forged}"}).status_code for _ in range(half)]
        codes += [
            c.get(UNROUTED, headers={"Authorization": f"Bearer {expired}"}).status_code
            for _ in range(LIMITS["RATE_GENERAL"] - half)
        ]
        assert 429 not in codes
        _assert_429(_until_limited(lambda: c.get(UNROUTED)))  # the tokens spent the address's bucket
    with client_from(source, url, headers=victim.headers) as c:
        assert 429 not in _statuses(c, LIMITS["RATE_GENERAL"])


def test_request_id_forwarded_for_security_headers_and_gzip(stack):
    echo = Backend("echo")
    try:
        _, port, _ = stack.start_extra_haproxy("haproxy-echo", API1_ADDR=echo.addr, API2_ADDR=echo.addr)
        source = fresh_source_address()
        with client_from(source, f"http://127.0.0.1:{port}") as c:
            r = c.get("/anything")
            seen = r.json()["headers"]
            assert seen["x-forwarded-for"] == source.split(":")[0]
            assert seen["x-forwarded-proto"] == "http"
            rid = seen["x-request-id"]
            assert re.fullmatch(r"[0-9a-f-]{36}", rid) and r.headers["x-request-id"] == rid
            mine = f"client-{uuid.uuid4().hex}"
            assert c.get("/x", headers={"X-Request-ID": mine}).json()["headers"]["x-request-id"] == mine
            junk = "bad id with spaces"
            replaced = c.get("/x", headers={"X-Request-ID": junk}).json()["headers"]["x-request-id"]
            assert replaced != junk and re.fullmatch(r"[0-9a-f-]{36}", replaced)
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["x-frame-options"] == "DENY"
            assert r.headers["referrer-policy"] == "no-referrer"
            assert "default-src 'none'" in r.headers["content-security-policy"]
            gz = c.get("/anything", headers={"Accept-Encoding": "gzip"})
            assert gz.headers["content-encoding"] == "gzip" and gz.json()["method"] == "GET"
    finally:
        stack.stop("haproxy-echo")
        echo.close()


def test_api_json_is_gzipped(client):
    r = client.get("/docs/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert r.json()["openapi"]


def test_get_is_retried_on_another_server_but_post_is_never_replayed(stack):
    """api1 reads each request and dies without answering; api2 answers."""
    dying, good = Backend("drop"), Backend("echo")
    try:
        _, port, _ = stack.start_extra_haproxy("haproxy-retry", API1_ADDR=dying.addr, API2_ADDR=good.addr)
        url = f"http://127.0.0.1:{port}"
        with client_from(fresh_source_address(), url) as c:
            gets = [c.get(f"/get/{i}").status_code for i in range(10)]
        assert gets == [200] * 10  # retried on api2 (retry-on empty-response + redispatch)
        assert dying.count("GET") >= 4  # half of them did reach the dying server first
        # A POST on a new client connection: HAProxy answers 502 JSON.
        posts = [httpx.post(f"{url}/post/{i}", json={"n": i}, timeout=10) for i in range(10)]
        failed = [r for r in posts if r.status_code != 200]
        assert failed, "round robin should have sent some POSTs to the dying server"
        assert all(r.status_code == 502 and r.json()["error"] == "bad_gateway" for r in failed)
        assert dying.count("POST") == len(failed)  # each failed POST was sent exactly once ...
        assert good.count("POST") == 10 - len(failed)  # ... and never replayed on the other server
        # On a reused client connection HAProxy 2.6 closes the client connection
        # instead (as if it were an idle keep-alive close); still no replay.
        outcomes = []
        with client_from(fresh_source_address(), url) as c:
            for i in range(10):
                try:
                    outcomes.append(c.post(f"/ka/{i}", json={"n": i}).status_code)
                except httpx.RemoteProtocolError:
                    outcomes.append("closed")
        lost = [o for o in outcomes if o != 200]
        assert lost and set(lost) <= {502, "closed"}
        sent_to_dying = sum(1 for m, p in dying.seen if m == "POST" and p.startswith("/ka/"))
        sent_to_good = sum(1 for m, p in good.seen if m == "POST" and p.startswith("/ka/"))
        assert (sent_to_dying, sent_to_good) == (len(lost), 10 - len(lost))
    finally:
        stack.stop("haproxy-retry")
        dying.close()
        good.close()


def test_haproxy_closes_idle_server_connections_before_sanic_does(stack, limited):
    """Sanic closes idle connections after 75 s; HAProxy must close first
    (else a request sent on a connection Sanic is closing fails with a 502)."""
    url, _ = limited
    master = stack.procs["haproxy-limited"].pid
    api_ports = set(stack.ports.api)
    with client_from(fresh_source_address(), url) as c:
        for _ in range(4):
            assert c.get("/health").status_code == 200
        worker = children(master)[0]
        # Connections present twice, 0.6 s apart (health-check connections are brief).
        first = set(established_from(worker, api_ports))
        time.sleep(0.6)
        held = first & set(established_from(worker, api_ports))
        assert held, "HAProxy keeps the server connection while the client is idle"
        seconds = wait_until(lambda: not held & set(established_from(worker, api_ports)), timeout=40, interval=0.25)
    # Closed by HAProxy's own timer (timeout http-keep-alive 10 s, measured from
    # the last request), far below Sanic's 75 s: Sanic never closes it first.
    print(f"\nidle server connection closed by HAProxy after {seconds:.1f}s")
    assert 5 < seconds < 20, seconds


def test_stats_and_metrics_need_the_password_when_set(stack):
    _, _, stats = stack.start_extra_haproxy("haproxy-auth", HAPROXY_STATS_PASSWORD="s3cret-stats")
    try:
        base = f"http://127.0.0.1:{stats}"
        assert httpx.get(base + "/stats").status_code == 401
        assert httpx.get(base + "/metrics").status_code == 401
        assert httpx.get(base + "/healthz").status_code == 200
        page = httpx.get(base + "/stats", auth=("admin", "s3cret-stats"))
        assert page.status_code == 200 and "be_api" in page.text
        metrics = httpx.get(base + "/metrics", auth=("admin", "s3cret-stats")).text
        assert 'haproxy_server_status{proxy="be_api",server="api1"' in metrics
    finally:
        stack.stop("haproxy-auth")


def test_main_stack_stats_lists_both_servers_up(stack):
    page = httpx.get(f"http://127.0.0.1:{stack.ports.stats}/stats").text
    assert "api1" in page and "api2" in page
    metrics = httpx.get(f"http://127.0.0.1:{stack.ports.stats}/metrics").text
    for name in ("api1", "api2"):
        line = next(
            row
            for row in metrics.splitlines()
            if row.startswith(f'haproxy_server_status{{proxy="be_api",server="{name}",state="UP"}}')
        )
        assert line.endswith(" 1")


def _haproxy_check(env: dict[str, str], backend: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["haproxy", "-c", "-f", str(REPO / "haproxy" / "haproxy.cfg"), "-f", str(REPO / "haproxy" / backend)],
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize("backend", ["backend-local.cfg", "backend-compose.cfg"])
def test_haproxy_config_is_valid(stack, backend):
    result = _haproxy_check(stack.env(), backend)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Configuration file is valid" in result.stdout


def test_config_refuses_an_unprotected_stats_page_outside_local_mode(stack):
    env = stack.env(HAPROXY_BIND_ADDR="0.0.0.0")
    env.pop("HAPROXY_STATS_PASSWORD", None)
    result = _haproxy_check(env, "backend-compose.cfg")
    assert result.returncode != 0 and "HAPROXY_STATS_PASSWORD" in result.stdout + result.stderr
    assert _haproxy_check({**env, "HAPROXY_STATS_PASSWORD": "pw"}, "backend-compose.cfg").returncode == 0


def test_graceful_reload_during_traffic_drops_no_request(stack):
    """Two reloads (SIGUSR2 to the master) under four request streams.
    Fresh connections must never fail. On a kept-alive connection the old
    worker closes it once idle; a request crossing that close is the usual
    keep-alive race, which clients settle by resending an idempotent request
    on a new connection (RFC 9112 9.3.1; browsers do): the keep-alive streams
    resend once, and count how often they had to."""
    proc, port, _ = stack.start_extra_haproxy("haproxy-reload", RATE_GENERAL="1000000")
    url = f"http://127.0.0.1:{port}"
    stop = threading.Event()
    results: list[tuple[str, bool, int | str]] = []
    resent = []
    lock = threading.Lock()

    def stream(keep_alive: bool, path: str):
        # "Connection: close" makes every request of that client a new connection.
        headers = {} if keep_alive else {"Connection": "close"}
        retryable = (httpx.RemoteProtocolError, httpx.ReadError) if keep_alive else ()
        with httpx.Client(base_url=url, timeout=10, headers=headers) as client:
            while not stop.is_set():
                try:
                    try:
                        r = client.get(path)
                    except retryable as exc:
                        with lock:
                            resent.append(type(exc).__name__)
                        r = client.get(path)  # the pool dropped the closed connection: a new one
                    outcome = r.status_code
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                with lock:
                    results.append((path, keep_alive, outcome))

    threads = [
        threading.Thread(target=stream, args=(ka, path)) for ka in (True, False) for path in ("/health", UNROUTED)
    ]
    old_workers = set(children(proc.pid))
    try:
        for t in threads:
            t.start()
        # Counts, not sleeps: enough traffic before, between and after the reloads
        # however slow a loaded machine makes each request.
        wait_until(lambda: len(results) >= 150, timeout=60)
        for _ in range(2):
            os.kill(proc.pid, signal.SIGUSR2)
            target = len(results) + 200
            wait_until(lambda target=target: len(results) >= target, timeout=60)
        stop.set()
        for t in threads:
            t.join(15)
    finally:
        stop.set()
        new_workers = set(children(proc.pid))
        stack.stop("haproxy-reload")
    expected = {"/health": 200, UNROUTED: 404}
    bad = [(p, ka, o) for p, ka, o in results if o != expected[p]]
    fresh = sum(1 for _, ka, _ in results if not ka)
    print(
        f"\nreload: {len(results)} requests ({fresh} on new connections) during 2 reloads, "
        f"{len(bad)} failed, {len(resent)} keep-alive requests resent after a close ({resent})"
    )
    assert len(results) > 500 and fresh > 200
    assert not bad, f"{len(bad)} of {len(results)} requests failed during reloads: {bad[:5]}"
    assert new_workers and not (new_workers & old_workers), "the reload should have replaced the worker"
    log = (stack.root / "log" / "haproxy-reload.log").read_text()
    assert "Former worker" in log and "exited with code 0" in log
