"""`/api/transactions`: list (paging, local-day range), get, and selling one
line (stock, validation, idempotency, tenancy)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from support_sales import (
    JAKARTA,
    add_product,
    add_sale,
    anonymous,
    assert_error,
    local_today,
    sales_count,
    stock_of,
    store_of,
)

TX_FIELDS = {
    "transaction_id",
    "transaction_date",
    "product_id",
    "product_name",
    "sku",
    "product_sku",
    "quantity_sold",
    "price_per_unit",
    "total",
    "is_promo",
    "checkout_id",
}


@pytest.fixture()
def shop(user, db):
    store = store_of(db, user)
    return user, store


def test_empty_store_lists_a_bare_empty_array(user):
    r = user.get("/api/transactions")
    assert r.status_code == 200 and r.json() == []


def test_list_is_newest_first_in_the_txrow_shape(shop, db):
    user, store = shop
    p = add_product(db, store, stock=50, price="2500.50", name="Teh Botol")
    base = local_today() - timedelta(days=3)
    ids = [
        add_sale(db, store, p["product_id"], q, "2500.50", base + timedelta(hours=h))
        for q, h in ((1, 9), (3, 11), (2, 10))
    ]
    rows = user.get("/api/transactions").json()
    assert [r["transaction_id"] for r in rows] == [ids[1], ids[2], ids[0]]
    row = rows[0]
    assert set(row) >= TX_FIELDS
    assert row["product_name"] == "Teh Botol" and row["sku"] == row["product_sku"] == p["sku"]
    assert row["product_id"] == p["product_id"]
    assert row["quantity_sold"] == 3 and row["price_per_unit"] == 2500.5 and row["total"] == 7501.5
    assert row["is_promo"] is False and row["checkout_id"] is None
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+07:00", row["transaction_date"])
    assert datetime.fromisoformat(row["transaction_date"]) == base + timedelta(hours=11)


def test_limit_defaults_to_100_and_offset_pages(shop, db):
    user, store = shop
    p = add_product(db, store, stock=0)
    start = local_today() - timedelta(days=10)
    with db.cursor() as cur:
        cur.execute(
            """INSERT INTO transactions (store_id, product_id, quantity_sold, price_per_unit, transaction_date)
                       SELECT %s, %s, 1, 1000, %s + g * interval '1 minute' FROM generate_series(1, 105) g""",
            (store, p["product_id"], start),
        )
    assert len(user.get("/api/transactions").json()) == 100
    assert len(user.get("/api/transactions", params={"limit": 1000}).json()) == 105
    first = user.get("/api/transactions", params={"limit": 5}).json()
    second = user.get("/api/transactions", params={"limit": 5, "offset": 5}).json()
    assert len(first) == len(second) == 5
    assert first[-1]["transaction_date"] > second[0]["transaction_date"]
    assert user.get("/api/transactions", params={"offset": 200}).json() == []


@pytest.mark.parametrize(
    "params, field",
    [
        ({"limit": 1001}, "limit"),
        ({"limit": 0}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"start_date": "2026-13-01"}, "start_date"),
        ({"end_date": "01/02/2026"}, "end_date"),
        ({"start_date": "2026-03-02", "end_date": "2026-03-01"}, "end_date"),
    ],
)
def test_bad_list_queries_are_400_naming_the_field(shared_user, params, field):
    assert_error(shared_user.get("/api/transactions", params=params), 400, field)


def test_date_range_uses_the_stores_local_days(shop, db):
    user, store = shop
    p = add_product(db, store, stock=0)
    # 23:30 and 00:30 Jakarta time: different local days, the same UTC day.
    late = datetime(2026, 3, 1, 23, 30, tzinfo=JAKARTA)
    early = datetime(2026, 3, 2, 0, 30, tzinfo=JAKARTA)
    a = add_sale(db, store, p["product_id"], 1, 1000, late)
    b = add_sale(db, store, p["product_id"], 1, 1000, early)
    on_2nd = user.get("/api/transactions", params={"start_date": "2026-03-02", "end_date": "2026-03-02"}).json()
    on_1st = user.get("/api/transactions", params={"start_date": "2026-03-01", "end_date": "2026-03-01"}).json()
    assert [r["transaction_id"] for r in on_2nd] == [b]
    assert [r["transaction_id"] for r in on_1st] == [a]
    assert [r["transaction_id"] for r in user.get("/api/transactions", params={"start_date": "2026-03-01"}).json()] == [
        b,
        a,
    ]
    assert user.get("/api/transactions", params={"end_date": "2026-02-28"}).json() == []


def test_get_one_and_not_found(shop, db, make_user):
    user, store = shop
    p = add_product(db, store, stock=0)
    tid = add_sale(db, store, p["product_id"], 2, 1500, local_today())
    r = user.get(f"/api/transactions/{tid}")
    assert r.status_code == 200 and r.json()["transaction_id"] == tid and set(r.json()) >= TX_FIELDS
    assert_error(user.get("/api/transactions/999999999"), 404, "999999999")
    assert_error(user.get("/api/transactions/99999999999999999999999"), 404)
    assert user.get("/api/transactions/abc").status_code in (404, 405)
    other = make_user()
    body = assert_error(other.get(f"/api/transactions/{tid}"), 404)
    assert "Product" not in body["message"]
    assert other.get("/api/transactions").json() == []


def test_sell_one_line_decrements_stock(shop, db):
    user, store = shop
    p = add_product(db, store, stock=7, price="12500.00")
    r = user.post("/api/transactions", json={"product_sku": p["sku"], "quantity": 3})
    assert r.status_code == 201, r.text
    row = r.json()
    assert set(row) >= TX_FIELDS
    assert row["quantity_sold"] == 3 and row["price_per_unit"] == 12500 and row["total"] == 37500
    assert row["product_sku"] == p["sku"] and row["is_promo"] is False
    assert stock_of(db, p["product_id"]) == 4
    assert user.get(f"/api/transactions/{row['transaction_id']}").json() == row


def test_sell_with_price_promo_and_backdated_date(shop, db):
    user, store = shop
    p = add_product(db, store, stock=5, price="10000.00")
    r = user.post(
        "/api/transactions",
        json={
            "product_sku": p["sku"],
            "quantity": 1,
            "price": 8999.99,
            "is_promo": True,
            "transaction_date": "2026-01-15",
        },
    )
    assert r.status_code == 201, r.text
    row = r.json()
    assert row["price_per_unit"] == 8999.99 and row["is_promo"] is True
    assert row["transaction_date"].startswith("2026-01-15T00:00:00") and row["transaction_date"].endswith("+07:00")
    r = user.post(
        "/api/transactions", json={"product_sku": p["sku"], "quantity": 1, "transaction_date": "2026-01-15T10:00:00Z"}
    )
    assert datetime.fromisoformat(r.json()["transaction_date"]) == datetime.fromisoformat("2026-01-15T10:00:00+00:00")
    assert stock_of(db, p["product_id"]) == 3


def test_insufficient_stock_is_409_naming_product_available_and_requested(shop, db):
    user, store = shop
    p = add_product(db, store, stock=2, name="Roti Coklat")
    body = assert_error(
        user.post("/api/transactions", json={"product_sku": p["sku"], "quantity": 3}),
        409,
        "Roti Coklat",
        "available 2",
        "requested 3",
    )
    assert body["error"] == "insufficient_stock"
    assert (body["product_sku"], body["available"], body["requested"]) == (p["sku"], 2, 3)
    assert stock_of(db, p["product_id"]) == 2 and sales_count(db, p["product_id"]) == 0


def test_unknown_other_stores_and_archived_products(shop, db, make_user):
    user, store = shop
    assert_error(user.post("/api/transactions", json={"product_sku": "NOPE-1", "quantity": 1}), 404, "NOPE-1")
    other = make_user()
    theirs = add_product(db, store_of(db, other), stock=5)
    assert_error(user.post("/api/transactions", json={"product_sku": theirs["sku"], "quantity": 1}), 404)
    assert stock_of(db, theirs["product_id"]) == 5
    archived = add_product(db, store, stock=5, archived=True)
    assert_error(user.post("/api/transactions", json={"product_sku": archived["sku"], "quantity": 1}), 409, "archived")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"quantity": 1}, "product_sku"),
        ({"product_sku": "X"}, "quantity"),
        ({"product_sku": "X", "quantity": 0}, "quantity"),
        ({"product_sku": "X", "quantity": "2"}, "quantity"),
        ({"product_sku": "X", "quantity": 1.5}, "quantity"),
        ({"product_sku": "", "quantity": 1}, "product_sku"),
        ({"product_sku": 123, "quantity": 1}, "product_sku"),
        ({"product_sku": "A\x00", "quantity": 1}, "product_sku"),
        ({"product_sku": "X", "quantity": 1, "price": -1}, "price"),
        ({"product_sku": "X", "quantity": 1, "price": 1.234}, "price"),
        ({"product_sku": "X", "quantity": 1, "is_promo": "yes"}, "is_promo"),
        ({"product_sku": "X", "quantity": 1, "transaction_date": "yesterday"}, "transaction_date"),
        ({"product_sku": "X", "quantity": 1, "transaction_date": "2999-01-01"}, "transaction_date"),
        ({"product_sku": "X", "quantity": 1, "sku": "X"}, "sku"),
    ],
)
def test_bad_sale_bodies_are_400_naming_the_field(shared_user, body, field):
    assert_error(shared_user.post("/api/transactions", json=body), 400, field)


def test_non_object_and_non_json_bodies_are_400(shared_user):
    user = shared_user
    assert_error(user.post("/api/transactions", json=[1, 2]), 400)
    assert_error(user.post("/api/transactions", content=b"{oops", headers={"Content-Type": "application/json"}), 400)
    assert_error(user.post("/api/transactions"), 400)


def test_requires_a_token(client):
    assert_error(anonymous(client, "GET", "/api/transactions"), 401)
    assert_error(anonymous(client, "POST", "/api/transactions", json={"product_sku": "X", "quantity": 1}), 401)


def test_idempotent_sale_replays_and_rejects_a_changed_body(shop, db):
    user, store = shop
    p = add_product(db, store, stock=10)
    key = {"Idempotency-Key": f"sale-{uuid.uuid4()}"}
    first = user.post("/api/transactions", json={"product_sku": p["sku"], "quantity": 2}, headers=key)
    again = user.post("/api/transactions", json={"quantity": 2, "product_sku": p["sku"]}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"
    assert stock_of(db, p["product_id"]) == 8 and sales_count(db, p["product_id"]) == 1
    changed = user.post("/api/transactions", json={"product_sku": p["sku"], "quantity": 3}, headers=key)
    assert_error(changed, 422, "Idempotency-Key")
    assert stock_of(db, p["product_id"]) == 8
    assert_error(
        user.post(
            "/api/transactions", json={"product_sku": p["sku"], "quantity": 1}, headers={"Idempotency-Key": "x" * 300}
        ),
        400,
        "Idempotency-Key",
    )


def test_a_replay_answers_the_recorded_sale_even_when_it_emptied_the_shelf(shop, db):
    """The record is written after the effect: a retry of the sale that sold the last
    units must replay its 201, not run again into 409 insufficient stock."""
    user, store = shop
    p = add_product(db, store, stock=3)
    key = {"Idempotency-Key": f"last-{uuid.uuid4()}"}
    first = user.post("/api/transactions", json={"product_sku": p["sku"], "quantity": 3}, headers=key)
    again = user.post("/api/transactions", json={"product_sku": p["sku"], "quantity": 3}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"
    assert stock_of(db, p["product_id"]) == 0 and sales_count(db, p["product_id"]) == 1
    changed = user.post("/api/transactions", json={"product_sku": p["sku"], "quantity": 1}, headers=key)
    assert_error(changed, 422, "Idempotency-Key")


def test_an_expired_key_is_a_new_sale(shop, db):
    user, store = shop
    p = add_product(db, store, stock=5)
    key = {"Idempotency-Key": f"old-{uuid.uuid4()}"}
    assert user.post("/api/transactions", json={"product_sku": p["sku"], "quantity": 1}, headers=key).status_code == 201
    with db.cursor() as cur:
        cur.execute(
            "UPDATE idempotency_keys SET created_at = now() - interval '30 days' WHERE key = %s",
            (key["Idempotency-Key"],),
        )
    again = user.post("/api/transactions", json={"product_sku": p["sku"], "quantity": 1}, headers=key)
    assert again.status_code == 201 and again.headers.get("idempotent-replayed") is None
    assert stock_of(db, p["product_id"]) == 3 and sales_count(db, p["product_id"]) == 2


def test_idempotency_keys_are_per_store(shop, db, make_user):
    user, store = shop
    other = make_user()
    mine, theirs = add_product(db, store, stock=5), add_product(db, store_of(db, other), stock=5)
    key = {"Idempotency-Key": f"shared-{uuid.uuid4()}"}
    assert (
        user.post("/api/transactions", json={"product_sku": mine["sku"], "quantity": 1}, headers=key).status_code == 201
    )
    r = other.post("/api/transactions", json={"product_sku": theirs["sku"], "quantity": 1}, headers=key)
    assert r.status_code == 201 and r.json()["product_sku"] == theirs["sku"]
    assert stock_of(db, theirs["product_id"]) == 4


def test_money_is_exact(shop, db):
    user, store = shop
    p = add_product(db, store, stock=100, price="0.10")
    row = user.post("/api/transactions", json={"product_sku": p["sku"], "quantity": 3}).json()
    assert Decimal(str(row["total"])) == Decimal("0.30")
