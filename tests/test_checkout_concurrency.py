"""Checkout under contention, through HAProxy and both API instances: no
overselling, no deadlocks, and one sale per Idempotency-Key."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from support_sales import add_product, sales_count, stock_of, store_of


def _simultaneously(
    base_url: str, headers: dict, requests: list[tuple[dict, dict]], path: str = "/api/transactions/checkout"
) -> list[httpx.Response]:
    """POST every (body, extra headers) to `path` at the same moment, one connection each."""
    barrier = threading.Barrier(len(requests))

    def send(item):
        body, extra = item
        with httpx.Client(base_url=base_url, timeout=60, headers=headers) as c:
            barrier.wait()
            return c.post(path, json=body, headers=extra)

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


def test_multi_line_carts_racing_for_the_last_units_are_all_or_nothing(base_url, user, db):
    # Plenty of bread, 5 jars of jam; each cart takes 2 bread and 1 jam. Only 5 carts can
    # be served whole; the others must not take their bread (no partial decrement).
    store = store_of(db, user)
    bread = add_product(db, store, stock=100, name="Roti Tawar")
    jam = add_product(db, store, stock=5, name="Selai Stroberi")
    cart = {"items": [{"product_id": bread["sku"], "quantity": 2}, {"product_id": jam["sku"], "quantity": 1}]}
    responses = _simultaneously(base_url, user.headers, [(cart, {})] * 20)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 5 + [409] * 15, [r.text for r in responses if r.status_code not in (201, 409)]
    for r in responses:
        if r.status_code == 409:
            body = r.json()
            assert body["error"] == "insufficient_stock" and "Selai Stroberi" in body["message"], body
            assert body["requested"] == 1 and body["available"] == 0
        else:
            assert len(r.json()["transactions"]) == 2
    assert stock_of(db, jam["product_id"]) == 0
    assert stock_of(db, bread["product_id"]) == 100 - 2 * 5
    assert sales_count(db, bread["product_id"]) == sales_count(db, jam["product_id"]) == 5
    with db.cursor() as cur:  # every sale line belongs to a whole cart: two lines per checkout id
        cur.execute(
            "SELECT checkout_id, count(*) AS n FROM transactions WHERE product_id IN (%s, %s) GROUP BY checkout_id",
            (bread["product_id"], jam["product_id"]),
        )
        assert sorted(r["n"] for r in cur.fetchall()) == [2] * 5


def test_one_sale_key_sent_concurrently_sells_once(base_url, user, db):
    store = store_of(db, user)
    p = add_product(db, store, stock=10)
    sale = {"product_sku": p["sku"], "quantity": 3}
    key = {"Idempotency-Key": f"sale-{uuid.uuid4()}"}
    responses = _simultaneously(base_url, user.headers, [(sale, key)] * 8, path="/api/transactions")
    assert [r.status_code for r in responses] == [201] * 8, [r.text for r in responses]
    bodies = [r.json() for r in responses]
    assert all(b == bodies[0] for b in bodies) and bodies[0]["quantity_sold"] == 3, bodies[0]
    assert sum(1 for r in responses if r.headers.get("idempotent-replayed") == "true") == 7
    assert {r.headers["x-instance"] for r in responses} == {"api1", "api2"}
    assert stock_of(db, p["product_id"]) == 7 and sales_count(db, p["product_id"]) == 1


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
