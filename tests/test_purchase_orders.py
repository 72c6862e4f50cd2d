"""Purchase orders: drafted from the restock advice (one per supplier, pack-
rounded), submitted, received in parts into stock, counted as incoming by
the next advice; state rules (409) and store isolation (404)."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from support_purchasing import assign, product_with_history, supplier, train
from support_sales import add_product, assert_error, stock_of, store_of


def _advice(user, sku: str) -> dict:
    items = user.get("/api/predict/restock", params={"days": 14}).json()["items"]
    return next(i for i in items if i["sku"] == sku)


def _assert_counts_incoming(now: int, before: int, ordered: int) -> None:
    assert now == max(0, before - ordered)


@pytest.fixture(scope="module")
def worker(stack):
    """A job worker: models are trained there, never in the API."""
    stack.start("worker", wait_port=0)
    yield
    stack.stop("worker")


@pytest.fixture()
def shop(user, db, worker):
    """Two suppliers; A supplies two products (packs of 6 and 12), B one (no packs)."""
    store = store_of(db, user)
    ids = {sku: product_with_history(db, store, sku) for sku in ("PA-1", "PA-2", "PB-1")}
    product_with_history(db, store, "NOSUP-1")
    a = supplier(user, "Supplier A", 3)["supplier_id"]
    b = supplier(user, "Supplier B", 5)["supplier_id"]
    assign(user, "PA-1", a, pack_size=6)
    assign(user, "PA-2", a, pack_size=12)
    assign(user, "PB-1", b)
    for sku in ("PA-1", "PA-2", "PB-1", "NOSUP-1"):
        train(user, sku)
    return user, store, ids, a, b


def _draft(user) -> dict:
    r = user.post("/api/purchase-orders/draft", json={"horizon_days": 14})
    assert r.status_code == 201, r.text
    return r.json()


def test_drafting_gives_one_order_per_supplier_with_pack_rounded_quantities(shop):
    user, _, _, a, b = shop
    advice = {sku: _advice(user, sku)["recommendedRestock"] for sku in ("PA-1", "PA-2", "PB-1")}
    assert all(v > 0 for v in advice.values()), advice
    result = _draft(user)
    assert result["without_supplier"] == ["NOSUP-1"]
    orders = {o["supplier_id"]: o for o in result["orders"]}
    assert set(orders) == {a, b} and all(o["status"] == "draft" for o in orders.values())
    lines_a = {line["product_sku"]: line for line in orders[a]["lines"]}
    assert set(lines_a) == {"PA-1", "PA-2"}
    assert lines_a["PA-1"]["quantity"] == math.ceil(advice["PA-1"] / 6) * 6
    assert lines_a["PA-2"]["quantity"] == math.ceil(advice["PA-2"] / 12) * 12
    assert float(lines_a["PA-1"]["unit_cost"]) == 700.0
    assert [(line["product_sku"], line["quantity"]) for line in orders[b]["lines"]] == [("PB-1", advice["PB-1"])]
    listed = user.get("/api/purchase-orders", params={"status": "draft"}).json()
    assert {o["po_id"] for o in listed} == {o["po_id"] for o in orders.values()}


def test_partial_receipt_raises_stock_leaves_the_rest_open_and_the_advice_counts_it(shop, db):
    user, _, ids, a, _ = shop
    before = _advice(user, "PA-1")["recommendedRestock"]
    order = next(o for o in _draft(user)["orders"] if o["supplier_id"] == a)
    po = order["po_id"]
    ordered_qty = {line["product_sku"]: line["quantity"] for line in order["lines"]}
    r = user.post(f"/api/purchase-orders/{po}/submit")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ordered"
    expected = date.fromisoformat(r.json()["expected_date"])
    assert timedelta(days=2) <= expected - date.today() <= timedelta(days=4)  # lead 3, store vs UTC day
    # Ordered, nothing received: the advice does not recommend the same units again.
    _assert_counts_incoming(_advice(user, "PA-1")["recommendedRestock"], before, ordered_qty["PA-1"])

    r = user.post(f"/api/purchase-orders/{po}/receive", json={"lines": [{"product_sku": "PA-1", "quantity": 6}]})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["status"] == "partially_received"
    line = next(x for x in got["lines"] if x["product_sku"] == "PA-1")
    assert line["quantity_received"] == 6
    assert stock_of(db, ids["PA-1"]) == 6
    # 6 in stock, the rest still on order: together they cover what was recommended.
    _assert_counts_incoming(_advice(user, "PA-1")["recommendedRestock"], before, ordered_qty["PA-1"])

    rest = [{"product_sku": s, "quantity": q - (6 if s == "PA-1" else 0)} for s, q in ordered_qty.items()]
    key = {"Idempotency-Key": f"receipt-{po}-2"}
    r = user.post(f"/api/purchase-orders/{po}/receive", json={"lines": rest}, headers=key)
    assert r.status_code == 200 and r.json()["status"] == "received" and r.json()["received_at"]
    assert stock_of(db, ids["PA-2"]) == ordered_qty["PA-2"]
    # A retry with the same key replays the answer; the goods are not received twice.
    again = user.post(f"/api/purchase-orders/{po}/receive", json={"lines": rest}, headers=key)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["status"] == "received" and stock_of(db, ids["PA-2"]) == ordered_qty["PA-2"]


def test_receipts_are_ledger_movements(shop, db):
    user, _, ids, _, b = shop
    po = next(o for o in _draft(user)["orders"] if o["supplier_id"] == b)["po_id"]
    user.post(f"/api/purchase-orders/{po}/submit")
    r = user.post(f"/api/purchase-orders/{po}/receive", json={"lines": [{"product_sku": "PB-1", "quantity": 4}]})
    assert r.status_code == 200, r.text
    with db.cursor() as cur:
        cur.execute("SELECT kind, delta, reference FROM stock_movements WHERE product_id = %s", (ids["PB-1"],))
        assert [(m["kind"], m["delta"], m["reference"]) for m in cur.fetchall()] == [("receipt", 4, f"po:{po}")]


def test_state_rules_answer_409(shop):
    user, _, _, a, _ = shop
    po = next(o for o in _draft(user)["orders"] if o["supplier_id"] == a)["po_id"]
    receipt = {"lines": [{"product_sku": "PA-1", "quantity": 1}]}
    assert_error(user.post(f"/api/purchase-orders/{po}/receive", json=receipt), 409, "draft")
    r = user.patch(f"/api/purchase-orders/{po}", json={"lines": [{"product_sku": "PA-1", "quantity": 7}]})
    assert r.status_code == 200 and [x["quantity"] for x in r.json()["lines"]] == [12]  # packs of 6
    assert user.post(f"/api/purchase-orders/{po}/submit").status_code == 200
    assert_error(user.post(f"/api/purchase-orders/{po}/submit"), 409, "ordered")
    assert_error(user.patch(f"/api/purchase-orders/{po}", json={"notes": "late"}), 409, "ordered")
    assert_error(
        user.post(f"/api/purchase-orders/{po}/receive", json={"lines": [{"product_sku": "PA-1", "quantity": 13}]}),
        409,
        "exceeds",
    )
    assert_error(
        user.post(f"/api/purchase-orders/{po}/receive", json={"lines": [{"product_sku": "PB-1", "quantity": 1}]}),
        400,
        "PB-1",
    )
    assert (
        user.post(
            f"/api/purchase-orders/{po}/receive", json={"lines": [{"product_sku": "PA-1", "quantity": 12}]}
        ).json()["status"]
        == "received"
    )
    assert_error(user.post(f"/api/purchase-orders/{po}/cancel"), 409, "received")


def test_cancel_and_empty_submit(user, db):
    store = store_of(db, user)
    add_product(db, store, "C-1")
    sid = supplier(user, "Cancel Co")["supplier_id"]
    with db.cursor() as cur:
        cur.execute("INSERT INTO purchase_orders (store_id, supplier_id) VALUES (%s, %s) RETURNING po_id", (store, sid))
        po = cur.fetchone()["po_id"]
    assert_error(user.post(f"/api/purchase-orders/{po}/submit"), 409, "no lines")
    r = user.post(f"/api/purchase-orders/{po}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert_error(user.post(f"/api/purchase-orders/{po}/cancel"), 409, "cancelled")


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/receive", {"lines": []}, "lines"),
        ("/receive", {"lines": [{"product_sku": "PA-1", "quantity": 0}]}, "quantity"),
        ("/receive", {"lines": [{"product_sku": "PA-1", "quantity": "2"}]}, "quantity"),
        ("", {}, "body"),
        ("", {"lines": [{"product_sku": "PA-1", "quantity": 1}, {"product_sku": "PA-1", "quantity": 2}]}, "twice"),
    ],
)
def test_bad_input_names_the_field(user, db, path, body, field):
    store = store_of(db, user)
    sid = supplier(user, "Input Co")["supplier_id"]
    with db.cursor() as cur:
        cur.execute("INSERT INTO purchase_orders (store_id, supplier_id) VALUES (%s, %s) RETURNING po_id", (store, sid))
        po = cur.fetchone()["po_id"]
    method = user.post if path else user.patch
    assert_error(method(f"/api/purchase-orders/{po}{path}", json=body), 400, field)
    assert_error(user.get("/api/purchase-orders", params={"status": "lost"}), 400, "status")


def test_another_stores_order_is_404(shop, make_user):
    user, _, _, a, _ = shop
    po = next(o for o in _draft(user)["orders"] if o["supplier_id"] == a)["po_id"]
    other = make_user()
    for r in (
        other.get(f"/api/purchase-orders/{po}"),
        other.patch(f"/api/purchase-orders/{po}", json={"notes": "x"}),
        other.post(f"/api/purchase-orders/{po}/submit"),
        other.post(f"/api/purchase-orders/{po}/receive", json={"lines": [{"product_sku": "PA-1", "quantity": 1}]}),
        other.post(f"/api/purchase-orders/{po}/cancel"),
    ):
        assert_error(r, 404, str(po))
    assert other.get("/api/purchase-orders").json() == []
    assert user.get(f"/api/purchase-orders/{po}").json()["status"] == "draft"
