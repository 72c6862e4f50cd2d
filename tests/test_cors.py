"""CORS preflights from the frontend's dev origins, through HAProxy: the
origin is echoed, the route's methods and the headers the frontend sends
(Authorization, Content-Type, Idempotency-Key) are allowed."""

from __future__ import annotations

import pytest
from sanic import Sanic
from sanic.exceptions import SanicException

from siprems.app import create_app
from siprems.config import Settings
from support_sales import anonymous

ORIGINS = ("http://localhost:3000", "http://localhost:5173")
HEADERS = ("authorization", "content-type", "idempotency-key")
PREFLIGHTS = [  # (path, methods the route serves)
    ("/api/events", ("GET", "POST")),
    ("/api/events/1", ("GET", "PUT", "DELETE")),
    ("/api/auth/login", ("POST",)),
    ("/api/transactions/checkout", ("POST",)),
    ("/api/dashboard-stats", ("GET",)),
    ("/chat", ("POST",)),
]


def preflight(client, path: str, origin: str, method: str):
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": ",".join(HEADERS),
        },
    )


@pytest.mark.parametrize("origin", ORIGINS)
@pytest.mark.parametrize("path, methods", PREFLIGHTS)
def test_preflight_allows_the_frontend(client, origin, path, methods):
    for method in methods:
        r = preflight(client, path, origin, method)
        assert 200 <= r.status_code < 300, (path, method, r.status_code, r.text)
        assert r.headers.get("access-control-allow-origin") == origin
        allowed_methods = {m.strip().upper() for m in r.headers["access-control-allow-methods"].split(",")}
        assert method in allowed_methods or "*" in allowed_methods, (path, method, allowed_methods)
        allowed_headers = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
        assert set(HEADERS) <= allowed_headers, allowed_headers


def test_patch_preflight_where_a_route_serves_patch(client):
    r = preflight(client, "/api/products/ANY-SKU", ORIGINS[0], "PATCH")
    assert 200 <= r.status_code < 300 and r.headers.get("access-control-allow-origin") == ORIGINS[0]
    assert "PATCH" in r.headers["access-control-allow-methods"].upper()


def test_the_configured_allowlist():
    try:  # one app per process: another test may have built it already
        config = Sanic.get_app("siprems").config
    except SanicException:
        config = create_app(Settings(migrate_on_start=False)).config
    methods = {m.strip().upper() for m in config.CORS_METHODS.split(",")}
    assert {"GET", "POST", "PUT", "PATCH", "DELETE"} <= methods
    assert set(HEADERS) <= {h.strip().lower() for h in config.CORS_ALLOW_HEADERS.split(",")}
    assert set(ORIGINS) <= set(config.CORS_ORIGINS.split(","))


def test_actual_responses_carry_the_origin(client, user):
    r = user.get("/api/events", headers={"Origin": ORIGINS[0]})
    assert r.status_code == 200 and r.headers.get("access-control-allow-origin") == ORIGINS[0]
    r = anonymous(
        client,
        "POST",
        "/api/auth/login",
        json={"email": "nobody@example.com", "password": "Secret123"},
        headers={"Origin": ORIGINS[1]},
    )
    assert r.status_code == 401 and r.headers.get("access-control-allow-origin") == ORIGINS[1]


def test_unknown_origins_are_not_allowed(client):
    r = preflight(client, "/api/events", "http://evil.example", "GET")
    assert "access-control-allow-origin" not in r.headers


def test_every_path_has_its_preflight_route_before_the_workers_start():
    # Added once when the app is built (siprems.app._add_automatic_routes), not route by route
    # in each worker after start-up, where sanic-ext's listener cost ~1.2 s of CPU per worker.
    try:  # one app per process: another test may have built it already
        app = Sanic.get_app("siprems")
    except SanicException:
        app = create_app(Settings(migrate_on_start=False))
    methods: dict[str, set[str]] = {}
    for route in app.router.routes:
        methods.setdefault(route.path, set()).update(route.methods)
    assert len(methods) > 50
    assert [path for path, m in methods.items() if "OPTIONS" not in m] == []
    assert [path for path, m in methods.items() if "GET" in m and "HEAD" not in m] == []
