"""Webhooks with real workers and a real receiver: signed deliveries the
receiver verifies, retries with back-off until a failing receiver recovers,
deliveries that survive a worker being killed, the delivery log, validation,
the SSRF rules and store isolation."""

from __future__ import annotations

import time

import pytest

from siprems.webhooks import signing, urls
from support_purchasing import assign, product_with_history, supplier
from support_sales import add_product, assert_error, store_of
from support_webhooks import Receiver

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


def test_forecast_ready_and_purchase_order_received_events(user, db, procs, receiver):
    procs.start("w1", **FAST_RETRIES)
    rx = receiver()
    _hook(user, rx.url, ["forecast.ready", "purchase_order.received"])
    store = store_of(db, user)
    product_with_history(db, store, "EVT-1", days=30)
    sid = supplier(user, "Event Supplier", 2)["supplier_id"]
    assign(user, "EVT-1", sid, pack_size=5)
    r = user.post("/api/tasks/training/product/EVT-1")
    assert r.status_code in (200, 202), r.text
    rx.wait_for(lambda reqs: len(reqs) == 1, timeout=90)
    ready = rx.events()[0]
    assert ready["event"] == "forecast.ready" and ready["data"]["sku"] == "EVT-1" and ready["data"]["version"] >= 1
    orders = user.post("/api/purchase-orders/draft", json={}).json()["orders"]
    po = orders[0]["po_id"]
    assert user.post(f"/api/purchase-orders/{po}/submit").status_code == 200
    qty = orders[0]["lines"][0]["quantity"]
    r = user.post(f"/api/purchase-orders/{po}/receive", json={"lines": [{"product_sku": "EVT-1", "quantity": qty}]})
    assert r.status_code == 200, r.text
    rx.wait_for(lambda reqs: len(reqs) == 2)
    received = rx.events()[1]
    assert received["event"] == "purchase_order.received"
    assert received["data"]["purchase_order"]["po_id"] == po
    assert received["data"]["purchase_order"]["status"] == "received"


async def test_the_morning_digest_lists_products_to_reorder_and_orders_due(user, db, procs, receiver, queue):
    from siprems.jobs import producer
    from siprems.jobs.schedule import occurrences
    from siprems.webhooks.jobs import SCHEDULES

    digest = next(s for s in SCHEDULES if s.name == "stock-digest")
    assert digest.per_store and digest.job_type == "stock_digest"
    # 07:00 in the store's time zone: 00:00 UTC for Jakarta.
    fired = occurrences(digest.cron, "Asia/Jakarta", 1767225600 - 1, 1767225600 + 86400)  # from 2026-01-01 UTC
    assert [t % 86400 for t in fired] == [0, 0] and fired[0] == 1767225600

    procs.start("w1", **FAST_RETRIES)
    rx = receiver()
    _hook(user, rx.url, ["stock.digest"])
    store = store_of(db, user)
    add_product(db, store, "DIG-1", stock=0)  # out of stock: the reorder level asks for an order
    p2 = add_product(db, store, "DIG-2", stock=50)
    sid = supplier(user, "Digest Supplier", 0)["supplier_id"]
    with db.cursor() as cur:
        cur.execute(
            """INSERT INTO purchase_orders (store_id, supplier_id, status, expected_date, ordered_at)
               VALUES (%s, %s, 'ordered', current_date, now()) RETURNING po_id""",
            (store, sid),
        )
        po = cur.fetchone()["po_id"]
        cur.execute(
            "INSERT INTO purchase_order_lines (po_id, store_id, product_id, quantity) VALUES (%s, %s, %s, 10)",
            (po, store, p2["product_id"]),
        )
    await producer.enqueue(queue, "stock_digest", {}, store_id=store, job_id=f"cron:stock-digest:{store}:1")
    rx.wait_for(lambda reqs: len(reqs) == 1)
    event = rx.events()[0]
    assert event["event"] == "stock.digest"
    assert [i["sku"] for i in event["data"]["to_reorder"]] == ["DIG-1"]
    assert [(o["po_id"], o["open_quantity"]) for o in event["data"]["orders_due"]] == [(po, 10)]


async def test_a_delivery_whose_job_was_lost_is_queued_again(user, db, procs, receiver, queue):
    from siprems.db import create_pool
    from siprems.webhooks import events

    rx = receiver()
    hook = _hook(user, rx.url, ["sale.created"])
    with db.cursor() as cur:  # a delivery row whose enqueue never happened (the process died in between)
        cur.execute(
            """INSERT INTO webhook_deliveries (delivery_id, webhook_id, store_id, event, payload, created_at)
               VALUES ('lost-1', %s, %s, 'sale.created', '{"id": "lost-1"}', now() - interval '10 minutes')""",
            (hook["webhook_id"], store_of(db, user)),
        )
    pool = await create_pool(procs.stack.database_url)
    try:
        assert await events.redrive_pending(pool, queue) >= 1
        assert await events.redrive_pending(pool, queue) == 0  # its job is queued: not twice
    finally:
        pool.close()
        await pool.wait_closed()
    procs.start("w1", **FAST_RETRIES)
    log = _deliveries(user, hook["webhook_id"], lambda d: d and d[0]["status"] == "succeeded")
    assert log[0]["delivery_id"] == "lost-1" and [r["headers"].get(signing.DELIVERY_HEADER) for r in rx.requests] == [
        "lost-1"
    ]
