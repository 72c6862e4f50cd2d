"""Checkout under contention, through HAProxy and both API instances: no
overselling, no deadlocks, and one sale per Idempotency-Key."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from support_sales import add_product, sales_count, stock_of, store_of


def _simultaneously(base_url: str, headers: dict, requests: list[tuple[dict, dict]]) -> list[httpx.Response]:
    """POST every (body, extra headers) to checkout at the same moment, one connection each."""
    barrier = threading.Barrier(len(requests))

    def send(item):
        body, extra = item
        with httpx.Client(base_url=base_url, timeout=60, headers=headers) as c:
            barrier.wait()
            return c.post("/api/transactions/checkout", json=body, headers=extra)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))


def test_fifty_simultaneous_checkouts_never_oversell(base_url, user, db):
    store = store_of(db, user)
    p = add_product(db, store, stock=10, name="Kue Nastar")
    cart = {"items": [{"product": {"id": p["sku"], "sellingPrice": 65000}, "quantity": 1}]}
    responses = _simultaneously(base_url, user.headers, [(cart, {})] * 50)
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 10, statuses
    assert statuses.count(409) == 40, statuses
    for r in responses:
        if r.status_code == 409:
            body = r.json()
            assert body["error"] == "insufficient_stock" and body["requested"] == 1 and body["available"] == 0
            assert "Kue Nastar" in body["message"]
    assert {r.headers["x-instance"] for r in responses} == {"api1", "api2"}
    assert stock_of(db, p["product_id"]) == 0
    assert sales_count(db, p["product_id"]) == 10
    checkout_ids = {r.json()["checkout_id"] for r in responses if r.status_code == 201}
    assert len(checkout_ids) == 10


def test_a_retried_checkout_with_one_key_sells_once_even_when_concurrent(base_url, user, db):
    store = store_of(db, user)
    p = add_product(db, store, stock=10)
    cart = {"items": [{"product": {"id": p["sku"]}, "quantity": 1}], "subtotal": 10000, "tax": 1000, "total": 11000}
    key = {"Idempotency-Key": f"pos-{uuid.uuid4()}"}
    responses = _simultaneously(base_url, user.headers, [(cart, key)] * 8)
    assert [r.status_code for r in responses] == [201] * 8, [r.text for r in responses]
    bodies = [r.json() for r in responses]
    assert all(b == bodies[0] for b in bodies)
    assert sum(1 for r in responses if r.headers.get("idempotent-replayed") == "true") == 7
    assert {r.headers["x-instance"] for r in responses} == {"api1", "api2"}
    # A later retry (e.g. after a lost response) replays too.
    later = user.post("/api/transactions/checkout", json=cart, headers=key)
    assert later.status_code == 201 and later.json() == bodies[0]
    assert stock_of(db, p["product_id"]) == 9 and sales_count(db, p["product_id"]) == 1


def test_carts_locking_the_same_products_in_opposite_orders_do_not_deadlock(base_url, user, db):
    store = store_of(db, user)
    a, b, c = (add_product(db, store, stock=100) for _ in range(3))
    forward = {
        "items": [
            {"product_id": a["sku"], "quantity": 1},
            {"product_id": b["sku"], "quantity": 1},
            {"product_id": c["sku"], "quantity": 1},
        ]
    }
    backward = {"items": list(reversed(forward["items"]))}
    responses = _simultaneously(base_url, user.headers, [(forward, {}), (backward, {})] * 15)
    assert [r.status_code for r in responses] == [201] * 30, [r.text for r in responses if r.status_code != 201]
    assert stock_of(db, a["product_id"]) == stock_of(db, b["product_id"]) == stock_of(db, c["product_id"]) == 70
