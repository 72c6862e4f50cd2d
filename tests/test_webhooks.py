"""Webhooks with real workers and a real receiver: signed deliveries the
receiver verifies, retries with back-off until a failing receiver recovers,
deliveries that survive a worker being killed, the delivery log, validation,
the SSRF rules and store isolation."""

from __future__ import annotations

import time

import pytest
from support_sales import add_product, assert_error, store_of
from support_webhooks import Receiver

from siprems.webhooks import signing, urls

pytest_plugins = ["support_jobs_fixtures"]  # fixtures: procs, queue, pg

FAST_RETRIES = {"WEBHOOK_RETRY_BASE_SECONDS": "0.2"}


@pytest.fixture()
def receiver():
    made: list[Receiver] = []

    def make(plan=None, hold_seconds=0.0) -> Receiver:
        r = Receiver(plan, hold_seconds)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def _hook(user, url: str, events: list[str]) -> dict:
    r = user.post("/api/webhooks", json={"url": url, "events": events})
    assert r.status_code == 201, r.text
    return r.json()


def _deliveries(user, hook_id: int, until, timeout: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        items = user.get(f"/api/webhooks/{hook_id}/deliveries").json()
        if until(items) or time.monotonic() > deadline:
            return items
        time.sleep(0.1)


def test_ping_is_signed_and_the_receiver_verifies_it(user, procs, receiver):
    procs.start("w1", **FAST_RETRIES)
    rx = receiver()
    hook = _hook(user, rx.url, ["sale.created"])
    assert hook["secret"].startswith("whsec_") and hook["signature_header"] == signing.HEADER
    assert "secret" not in user.get(f"/api/webhooks/{hook['webhook_id']}").json()
    r = user.post(f"/api/webhooks/{hook['webhook_id']}/ping")
    assert r.status_code == 202, r.text
    got = rx.wait_for(lambda reqs: len(reqs) == 1)[0]
    headers = {k.lower(): v for k, v in got["headers"].items()}
    assert signing.verify(hook["secret"], headers[signing.HEADER.lower()], got["body"])
    assert not signing.verify("whsec_wrong", headers[signing.HEADER.lower()], got["body"])
    assert not signing.verify(hook["secret"], headers[signing.HEADER.lower()], got["body"] + b" ")
    # Outside the replay window the same signature is refused.
    later = time.time() + signing.REPLAY_WINDOW_SECONDS + 5
    assert not signing.verify(hook["secret"], headers[signing.HEADER.lower()], got["body"], now=later)
    assert headers[signing.EVENT_HEADER.lower()] == "ping"
    assert headers[signing.DELIVERY_HEADER.lower()] == r.json()["delivery_id"]
    log = _deliveries(user, hook["webhook_id"], lambda d: d and d[0]["status"] == "succeeded")
    assert log[0]["status"] == "succeeded" and log[0]["attempts"][0]["status_code"] == 200


def test_a_receiver_failing_twice_gets_the_sale_once_it_recovers(user, db, procs, receiver):
    procs.start("w1", **FAST_RETRIES)
    flaky, steady = receiver(plan=[500, 503]), receiver()
    hook = _hook(user, flaky.url, ["sale.created"])
    _hook(user, steady.url, ["stock.out"])
    add_product(db, store_of(db, user), "HOOK-1", stock=2)
    r = user.post("/api/transactions", json={"product_sku": "HOOK-1", "quantity": 2})
    assert r.status_code == 201, r.text
    flaky.wait_for(lambda reqs: [x["status"] for x in reqs] == [500, 503, 200])
    assert [e["event"] for e in flaky.events()] == ["sale.created"]
    assert flaky.events()[0]["data"]["transaction_id"] == r.json()["transaction_id"]
    steady.wait_for(lambda reqs: len(reqs) == 1)
    assert steady.events()[0]["event"] == "stock.out" and steady.events()[0]["data"]["sku"] == "HOOK-1"
    log = _deliveries(user, hook["webhook_id"], lambda d: d and d[0]["status"] == "succeeded")
    assert [a.get("status_code") for a in log[0]["attempts"]] == [500, 503, 200]
    assert len({x["headers"].get(signing.DELIVERY_HEADER) for x in flaky.requests}) == 1  # one delivery, 3 tries
    time.sleep(0.5)
    assert len(flaky.requests) == 3  # nothing more once it succeeded


def test_a_delivery_survives_its_worker_being_killed(user, procs, receiver):
    rx = receiver(hold_seconds=2.0)
    hook = _hook(user, rx.url, ["sale.created"])
    delivery = user.post(f"/api/webhooks/{hook['webhook_id']}/ping").json()["delivery_id"]
    procs.start("w1", **FAST_RETRIES)
    assert rx.started.wait(20), "the first worker never called the receiver"
    procs.kill("w1")  # mid-delivery: no acknowledgement, no log entry
    rx.hold_seconds = 0.0
    procs.start("w2", **FAST_RETRIES)
    log = _deliveries(user, hook["webhook_id"], lambda d: d and d[0]["status"] == "succeeded", timeout=40)
    assert log[0]["delivery_id"] == delivery and log[0]["status"] == "succeeded"
    assert all(r["headers"].get(signing.DELIVERY_HEADER) == delivery for r in rx.requests)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": "ftp://example.com/x", "events": ["sale.created"]}, "url"),
        ({"url": "http://user:pw@example.com/x", "events": ["sale.created"]}, "url"),
        ({"url": "https://example.com/x", "events": ["sale.deleted"]}, "events"),
        ({"url": "https://example.com/x", "events": []}, "events"),
        ({"events": ["sale.created"]}, "url"),
    ],
)
def test_bad_webhooks_are_400_naming_the_field(shared_user, body, field):
    assert_error(shared_user.post("/api/webhooks", json=body), 400, field)


@pytest.mark.parametrize(
    "address, public",
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.0.10", False),
        ("172.16.5.4", False),
        ("169.254.169.254", False),
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("fd00::1", False),
        ("0.0.0.0", False),
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
    ],
)
def test_only_public_addresses_count_as_public(address, public):
    assert urls.is_public(address) is public


async def test_production_refuses_loopback_and_private_urls_development_allows_them():
    for url in ("http://127.0.0.1:9/x", "http://localhost/x", "http://10.0.0.7/x", "http://[::1]/x"):
        with pytest.raises(urls.UnsafeUrl):
            await urls.resolve(url, production=True)
        assert (await urls.resolve(url, production=False)).host
    target = await urls.resolve("http://localhost:8080/a?b=1", production=False)
    assert target.host == "localhost" and target.url.endswith(":8080/a?b=1") and "localhost" not in target.url
    assert target.host_header == "localhost:8080"
    assert (await urls.resolve("https://localhost/", production=False)).host_header == "localhost"


def test_another_stores_webhook_is_404(user, make_user):
    hook = _hook(user, "http://127.0.0.1:9/x", ["stock.low"])
    other = make_user()
    hid = hook["webhook_id"]
    for r in (
        other.get(f"/api/webhooks/{hid}"),
        other.patch(f"/api/webhooks/{hid}", json={"is_active": False}),
        other.get(f"/api/webhooks/{hid}/deliveries"),
        other.post(f"/api/webhooks/{hid}/ping"),
        other.delete(f"/api/webhooks/{hid}"),
    ):
        assert_error(r, 404, str(hid))
    assert other.get("/api/webhooks").json() == []
    r = user.patch(f"/api/webhooks/{hid}", json={"events": ["stock.out", "stock.digest"], "is_active": False})
    assert r.status_code == 200 and r.json()["events"] == ["stock.digest", "stock.out"] and not r.json()["is_active"]
    assert user.delete(f"/api/webhooks/{hid}").status_code == 200
