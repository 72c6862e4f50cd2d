"""The contract's §0: every call today's frontend makes (rows 1-8; chat, row 9,
is tested by the chat suite), replayed exactly as the browser sends it
(`utils/api.ts`: JSON body only on POST/PUT, Bearer when a token is stored,
`Origin` of the Vite dev server), checking every field the UI reads.

The frontend's rules: a 2xx body is always parsed as JSON (even DELETE); an
error shows `message || error`, which must be a string; a 401 triggers
`POST /auth/refresh {refresh_token}` and both returned tokens are stored.
"""

from __future__ import annotations

import re
import time
import uuid

import httpx
import pytest

from support_sales import add_product, store_of

ORIGIN = "http://localhost:3000"
YMD = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Browser:
    """What `utils/api.ts` does: base `/api`, tokens in 'localStorage', refresh on 401."""

    def __init__(self, base_url: str):
        self.http = httpx.Client(base_url=base_url + "/api", timeout=30)
        self.storage: dict[str, object] = {}

    def request(self, method: str, endpoint: str, body: dict | None = None, *, retry: bool = True):
        headers = {"Origin": ORIGIN}
        if self.storage.get("access_token"):
            headers["Authorization"] = f"Bearer {self.storage['access_token']}"
        kwargs = {}
        if body is not None:  # Content-Type only when a body is present
            headers["Content-Type"] = "application/json"
            kwargs["json"] = body
        r = self.http.request(method, endpoint, headers=headers, **kwargs)
        deadline = time.monotonic() + 30
        while r.status_code == 429 and time.monotonic() < deadline:
            # The whole test session shares one client address (HAProxy's per-IP
            # limit for requests without a token); a browser user would not.
            time.sleep(float(r.headers.get("retry-after", "1")))
            r = self.http.request(method, endpoint, headers=headers, **kwargs)
        assert r.headers.get("access-control-allow-origin") == ORIGIN, (endpoint, r.headers)
        if r.status_code == 401 and retry and self.storage.get("refresh_token"):
            refreshed = self.http.post(
                "/auth/refresh", json={"refresh_token": self.storage["refresh_token"]}, headers={"Origin": ORIGIN}
            )
            assert refreshed.status_code == 200, refreshed.text
            data = refreshed.json()
            self.storage["access_token"] = data["access_token"]
            self.storage["refresh_token"] = data["refresh_token"]
            return self.request(method, endpoint, body, retry=False)
        if not 200 <= r.status_code < 300:
            data = r.json()  # the client parses error bodies as JSON
            message = data.get("message") or data.get("error")
            assert isinstance(message, str) and message, data
            return r.status_code, message
        return r.status_code, r.json()  # a 204 / empty body would throw here


@pytest.fixture()
def browser(base_url):
    b = Browser(base_url)
    yield b
    b.http.close()


def _login(browser: Browser, email: str, password: str) -> dict:
    status, data = browser.request("POST", "/auth/login", {"email": email, "password": password})
    assert status == 200, data
    for field in ("user_id", "email", "full_name", "access_token", "refresh_token"):
        assert field in data, field  # top level, not nested
    assert isinstance(data["user_id"], int)
    assert isinstance(data["email"], str) and isinstance(data["full_name"], str)
    assert isinstance(data["access_token"], str) and isinstance(data["refresh_token"], str)
    browser.storage.update(
        access_token=data["access_token"],
        refresh_token=data["refresh_token"],
        user={"user_id": data["user_id"], "email": data["email"], "full_name": data["full_name"]},
    )
    return data


def test_section_0_frontend_flow(browser, db):
    email = f"budi-{uuid.uuid4().hex[:8]}@example.com"
    password = "Rahasia123"  # zod: >= 8 chars, an upper-case letter, a digit

    # 1. register: any 2xx JSON; full_name is sent untrimmed.
    status, data = browser.request(
        "POST", "/auth/register", {"email": email, "password": password, "full_name": " Budi Santoso "}
    )
    assert 200 <= status < 300, data
    status, message = browser.request(
        "POST", "/auth/register", {"email": email, "password": password, "full_name": "Budi"}
    )
    assert status >= 400 and isinstance(message, str)  # shown in a toast

    # 2. login: fields at the top level.
    login = _login(browser, email, password)
    assert login["email"] == email and login["full_name"].strip() == "Budi Santoso"
    status, message = browser.request("POST", "/auth/login", {"email": email, "password": "Salah12345"}, retry=False)
    assert status == 401 and isinstance(message, str)

    # 3. refresh: both tokens come back and are stored; the new access token works.
    status, tokens = browser.request("POST", "/auth/refresh", {"refresh_token": browser.storage["refresh_token"]})
    assert status == 200 and isinstance(tokens["access_token"], str) and isinstance(tokens["refresh_token"], str)
    browser.storage.update(access_token=tokens["access_token"], refresh_token=tokens["refresh_token"])

    # 4. profile: any 2xx lets the user in; an invalid token is a 401 that the client refreshes.
    status, _ = browser.request("GET", "/auth/profile")
    assert status == 200
    browser.storage["access_token"] = "not-a-jwt"
    status, _ = browser.request("GET", "/auth/profile")  # 401 -> refresh -> retried with the new token
    assert status == 200 and browser.storage["access_token"] != "not-a-jwt"
    status, _ = browser.request("GET", "/auth/profile", retry=False)
    assert status == 200

    # Some real data for the dashboard: a product and a POS checkout.
    store = store_of(db, browser.storage["user"]["user_id"])
    product = add_product(db, store, stock=9, price="15000", name="Kacang Garuda 250g")
    add_product(db, store, stock=40, price="4000", name="Air Mineral 600ml")
    status, sold = browser.request(
        "POST",
        "/transactions/checkout",
        {
            "items": [{"product": {"id": product["sku"], "sellingPrice": 15000}, "quantity": 2}],
            "subtotal": 30000,
            "tax": 3000,
            "total": 33000,
        },
    )
    assert status == 201, sold

    # 5. dashboard-stats: called 4 times per render; the fields the UI reads.
    for _ in range(4):
        status, dash = browser.request("GET", "/dashboard-stats")
        assert status == 200
        assert isinstance(dash["cards"]["daily_transactions"], int) and dash["cards"]["daily_transactions"] == 1
        assert isinstance(dash["cards"]["active_products"], int)
        assert isinstance(dash["cards"]["low_stock_items"], int)
        assert isinstance(dash["salesTrend"], list) and len(dash["salesTrend"]) == 7
        for point in dash["salesTrend"]:
            assert isinstance(point["date"], str) and isinstance(point["sales"], int)
        assert dash["salesTrend"][-1]["sales"] == 2
        assert isinstance(dash["stockComparison"], list) and dash["stockComparison"]
        for item in dash["stockComparison"]:
            assert isinstance(item["product"], str)
            assert isinstance(item["current"], (int, float)) and isinstance(item["optimal"], (int, float))
        assert dash["stockComparison"][0] == {
            **dash["stockComparison"][0],
            "product": "Kacang Garuda 250g",
            "current": 7,
        }

    # 6. events list: a bare array; every type is one the calendar can render.
    status, events = browser.request("GET", "/events")
    assert status == 200 and isinstance(events, list)
    for event in events:
        assert {"event_id", "event_name", "event_date", "type", "description"} <= set(event)
        assert YMD.match(event["event_date"]) and event["type"] in ("promotion", "holiday", "store-closed")
        assert isinstance(event["event_name"], str)
        assert event["description"] is None or isinstance(event["description"], str)

    # 7. create an event exactly as CalendarPage does; the date comes back verbatim.
    date_str = "2026-11-20"  # selectedDate.toISOString().split('T')[0]
    body = {
        "name": "Promo Akhir Pekan",
        "date": date_str,
        "type": "promotion",
        "description": "",
        "includeInPrediction": True,
    }
    status, created = browser.request("POST", "/events", body)
    assert status == 201
    assert isinstance(created, dict) and created["event_date"] == date_str
    assert created["event_name"] == "Promo Akhir Pekan" and created["type"] == "promotion"
    assert created["description"] == "" and created["include_in_prediction"] is True
    status, events = browser.request("GET", "/events")
    assert [e for e in events if e["event_date"] == date_str and e["event_id"] == created["event_id"]] == [created]

    # 8. delete: any 2xx with a JSON body; a protected holiday gives a string message.
    status, deleted = browser.request("DELETE", f"/events/{created['event_id']}")
    assert 200 <= status < 300 and isinstance(deleted, dict)
    status, events = browser.request("GET", "/events")
    assert created["event_id"] not in [e["event_id"] for e in events]
    holiday = next(e for e in events if e.get("is_public_holiday"))
    status, message = browser.request("DELETE", f"/events/{holiday['event_id']}")
    assert status == 403 and isinstance(message, str)


def test_errors_are_always_a_string_message_or_error(browser):
    status, message = browser.request("POST", "/auth/login", {"email": "x@example.com", "password": "short"})
    assert 400 <= status < 500 and isinstance(message, str)
    status, message = browser.request("GET", "/dashboard-stats")  # no token at all
    assert status == 401 and isinstance(message, str)
    status, message = browser.request("GET", "/events")
    assert status == 401 and isinstance(message, str)
