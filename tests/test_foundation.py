"""The foundation: round-robin through HAProxy, health/readiness, JSON errors."""

from __future__ import annotations

import json
import multiprocessing
import socket
import uuid

import httpx
import psycopg2
import pytest

from siprems.config import ConfigError, load_settings
from siprems.db.migrate import apply_migrations, discover


def test_both_instances_answer_through_haproxy(client):
    seen = {client.get("/health").headers["x-instance"] for _ in range(8)}
    assert seen == {"api1", "api2"}


def test_health_is_trivial_json(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "healthy"


def test_ready_reports_each_dependency_on_the_internal_port_only(client, stack):
    r = httpx.get(f"http://127.0.0.1:{stack.ports.api[0]}/ready")
    assert r.status_code == 200
    assert r.json()["checks"]["database"] == "ok"
    assert r.json()["checks"]["redis"] == "ok"
    public = client.get("/ready")  # through HAProxy: the status, nothing about the internals
    assert public.status_code == 200 and public.json() == {"status": "ready"}


def test_request_id_is_echoed(client):
    r = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    assert client.get("/health").headers["x-request-id"]


def test_request_ids_are_unique_across_an_instances_workers(stack):
    # The workers are forked from one process: each must draw its own id prefix (a new
    # connection per request, so both workers of the instance answer some of them).
    ids = [httpx.get(f"http://127.0.0.1:{stack.ports.api[0]}/health").headers["x-request-id"] for _ in range(40)]
    assert len(set(ids)) == len(ids), sorted(ids)


def _assert_error(r, status):
    assert r.status_code == status, r.text
    body = r.json()
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["message"], str) and body["message"]
    assert "Traceback" not in r.text and "/work" not in r.text and "site-packages" not in r.text
    return body


def test_unknown_route_is_404_json(client):
    _assert_error(client.get("/no/such/route"), 404)


def test_wrong_method_is_405_json(client):
    _assert_error(client.delete("/health"), 405)


def test_malformed_json_is_400_json(client):
    r = client.post("/api/auth/login", content=b"{not json", headers={"Content-Type": "application/json"})
    body = _assert_error(r, 400)
    assert "JSON" in body["message"]


def test_oversized_body_is_413_json(stack):
    # Announce a body over the limit: the server answers before reading it
    # (a client that insists on sending it all would see the connection close).
    with socket.create_connection(("127.0.0.1", stack.ports.haproxy), timeout=10) as sock:
        sock.sendall(
            b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 20000000\r\n\r\n{"
        )
        raw = b""
        while b"\r\n\r\n" not in raw or not raw.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"413", raw
    parsed = json.loads(body[body.index(b"{") : body.rindex(b"}") + 1])
    assert parsed["error"] == "payload_too_large" and parsed["message"]


def test_production_refuses_default_secret():
    with pytest.raises(ConfigError):
        load_settings({"SIPREMS_ENV": "production"})
    with pytest.raises(ConfigError):
        load_settings({"SIPREMS_ENV": "production", "JWT_SECRET": "dev-insecure-secret-change-me"})
    ok = load_settings({"SIPREMS_ENV": "production", "JWT_SECRET": "x" * 40})
    assert ok.is_production


def _migrate(dsn, queue):
    try:
        queue.put(apply_migrations(dsn))
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        queue.put(repr(exc))


def test_concurrent_startups_apply_migrations_exactly_once(stack):
    name = f"mig_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(stack.admin_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name} OWNER siprems")
    admin.close()
    dsn = stack.direct_url.rsplit("/", 1)[0] + "/" + name
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_migrate, args=(dsn, queue)) for _ in range(4)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    assert all(isinstance(r, list) for r in results), results
    expected = [m.name for m in discover()]
    applied_lists = [r for r in results if r]
    assert applied_lists == [expected]  # exactly one process applied everything
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT name, count(*) FROM schema_migrations GROUP BY name ORDER BY name")
        assert cur.fetchall() == [(n, 1) for n in expected]
    conn.close()


def test_nul_characters_in_text_are_a_400_not_a_500(client):
    r = client.post(
        "/api/auth/register",
        json={
            "email": f"nul-{uuid.uuid4().hex[:8]}@example.com",
            "password": "Quiet-Harbor-42",
            "full_name": "Bad\u0000Name",
        },
    )
    assert r.status_code == 400 and "NUL" in r.json()["message"]
