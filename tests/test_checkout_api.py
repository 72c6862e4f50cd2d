"""`POST /api/transactions/checkout`: the frontend's cart shape, database
prices, exact totals, all-or-nothing, Idempotency-Key, tenancy."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from support_sales import (
    add_product,
    assert_error,
    sales_count,
    stock_of,
    store_of,
)


@pytest.fixture()
def shop(user, db):
    return user, store_of(db, user)


def frontend_item(product: dict, quantity: int, selling_price: float = 1.0) -> dict:
    """A CartItem as the POS builds it (types.ts Product; sellingPrice is the client's, ignored)."""
    return {
        "product": {
            "id": product["sku"],
            "name": product["name"],
            "category": "Snacks",
            "costPrice": 1,
            "sellingPrice": selling_price,
            "stock": 99,
            "description": "from the POS",
        },
        "quantity": quantity,
    }


def test_frontend_cart_is_sold_at_database_prices_with_exact_tax(shop, db):
    user, store = shop
    a = add_product(db, store, stock=10, price="1999.99", name="Kopi")
    b = add_product(db, store, stock=10, price="0.01", name="Permen")
    cart = {"items": [frontend_item(a, 3, 5.0), frontend_item(b, 1, 5.0)], "subtotal": 20.0, "tax": 2.0, "total": 22.0}
    r = user.post("/api/transactions/checkout", json=cart)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["success"] is True
    s = body["summary"]
    assert Decimal(str(s["subtotal"])) == Decimal("5999.98")
    assert Decimal(str(s["tax"])) == Decimal("600.00")  # 599.998 rounded half-up to the cent
    assert Decimal(str(s["total"])) == Decimal("6599.98")
    assert s["items_count"] == 2 and s["units_count"] == 4
    lines = body["transactions"]
    assert [line["product_sku"] for line in lines] == [a["sku"], b["sku"]]
    assert lines[0]["price_per_unit"] == 1999.99 and lines[0]["quantity_sold"] == 3
    assert lines[0]["product_name"] == "Kopi" and isinstance(lines[0]["product_id"], int)
    checkout_ids = {line["checkout_id"] for line in lines}
    assert checkout_ids == {body["checkout_id"]} and uuid.UUID(body["checkout_id"])
    assert stock_of(db, a["product_id"]) == 7 and stock_of(db, b["product_id"]) == 9
    listed = user.get("/api/transactions").json()
    assert {row["checkout_id"] for row in listed} == checkout_ids


def test_product_id_form_and_duplicate_skus_are_merged(shop, db):
    user, store = shop
    a = add_product(db, store, stock=10, price="1000")
    r = user.post(
        "/api/transactions/checkout",
        json={
            "items": [
                {"product_id": a["sku"], "quantity": 2},
                frontend_item(a, 3),
                {"product_id": a["sku"], "quantity": 1},
            ]
        },
    )
    assert r.status_code == 201, r.text
    lines = r.json()["transactions"]
    assert len(lines) == 1 and lines[0]["quantity_sold"] == 6
    assert r.json()["summary"]["subtotal"] == 6000
    assert stock_of(db, a["product_id"]) == 4


def test_insufficient_stock_on_any_line_writes_nothing(shop, db):
    user, store = shop
    a = add_product(db, store, stock=10, name="Air Mineral")
    b = add_product(db, store, stock=1, name="Roti Tawar")
    r = user.post("/api/transactions/checkout", json={"items": [frontend_item(a, 2), frontend_item(b, 2)]})
    body = assert_error(r, 409, "Roti Tawar", "available 1", "requested 2")
    assert body["error"] == "insufficient_stock"
    assert (body["product_sku"], body["available"], body["requested"]) == (b["sku"], 1, 2)
    assert stock_of(db, a["product_id"]) == 10 and stock_of(db, b["product_id"]) == 1
    assert sales_count(db, a["product_id"]) == sales_count(db, b["product_id"]) == 0


def test_merged_duplicates_are_checked_against_stock_as_a_whole(shop, db):
    user, store = shop
    a = add_product(db, store, stock=3)
    r = user.post("/api/transactions/checkout", json={"items": [frontend_item(a, 2), frontend_item(a, 2)]})
    assert assert_error(r, 409)["requested"] == 4
    assert stock_of(db, a["product_id"]) == 3


def test_unknown_or_other_stores_sku_is_404_and_nothing_written(shop, db, make_user):
    user, store = shop
    a = add_product(db, store, stock=5)
    assert_error(
        user.post(
            "/api/transactions/checkout",
            json={"items": [frontend_item(a, 1), {"product_id": "prod-001", "quantity": 1}]},
        ),
        404,
        "prod-001",
    )
    other = make_user()
    theirs = add_product(db, store_of(db, other), stock=5)
    body = assert_error(user.post("/api/transactions/checkout", json={"items": [frontend_item(theirs, 1)]}), 404)
    assert body["error"] == "product_not_found" and "available" not in body
    assert stock_of(db, a["product_id"]) == 5 and stock_of(db, theirs["product_id"]) == 5
    assert sales_count(db, a["product_id"]) == 0


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "items"),
        ({"items": []}, "items"),
        ({"items": [{"product_id": "A"}]}, "items.0.quantity"),
        ({"items": [{"product_id": "A", "quantity": 0}]}, "items.0.quantity"),
        ({"items": [{"product_id": "A", "quantity": "1"}]}, "items.0.quantity"),
        ({"items": [{"quantity": 1}]}, "items.0"),
        ({"items": [{"product": {"name": "no id"}, "quantity": 1}]}, "items.0.product.id"),
        ({"items": [{"product": {"id": "A"}, "product_id": "B", "quantity": 1}]}, "items.0"),
        ({"items": "A"}, "items"),
        ({"items": [{"product_id": "A\x00", "quantity": 1}]}, "items.0.product_id"),
        ({"items": [{"product_id": "A", "quantity": 1}], "coupon": "X"}, "coupon"),
    ],
)
def test_bad_carts_are_400_naming_the_field(shared_user, body, field):
    assert_error(shared_user.post("/api/transactions/checkout", json=body), 400, field)


def test_checkout_replays_with_the_same_idempotency_key(shop, db):
    user, store = shop
    a = add_product(db, store, stock=10)
    cart = {"items": [frontend_item(a, 2)], "subtotal": 1, "tax": 0.1, "total": 1.1}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = user.post("/api/transactions/checkout", json=cart, headers=key)
    retry = user.post("/api/transactions/checkout", json=cart, headers=key)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json() and retry.headers.get("idempotent-replayed") == "true"
    assert stock_of(db, a["product_id"]) == 8 and sales_count(db, a["product_id"]) == 1
    changed = {"items": [frontend_item(a, 3)]}
    assert_error(user.post("/api/transactions/checkout", json=changed, headers=key), 422, "Idempotency-Key")
    fresh = user.post("/api/transactions/checkout", json=cart, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert fresh.status_code == 201 and fresh.json()["checkout_id"] != first.json()["checkout_id"]
    assert stock_of(db, a["product_id"]) == 6


def test_a_failed_checkout_does_not_burn_its_key(shop, db):
    user, store = shop
    a = add_product(db, store, stock=1)
    cart = {"items": [frontend_item(a, 2)]}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    assert_error(user.post("/api/transactions/checkout", json=cart, headers=key), 409)
    with db.cursor() as cur:
        cur.execute("UPDATE products SET stock = 5 WHERE product_id = %s", (a["product_id"],))
    r = user.post("/api/transactions/checkout", json=cart, headers=key)
    assert r.status_code == 201 and "idempotent-replayed" not in r.headers
    assert stock_of(db, a["product_id"]) == 3


def test_keys_are_scoped_per_route(shop, db):
    user, store = shop
    a = add_product(db, store, stock=10)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    assert (
        user.post("/api/transactions/checkout", json={"items": [frontend_item(a, 1)]}, headers=key).status_code == 201
    )
    assert user.post("/api/transactions", json={"product_sku": a["sku"], "quantity": 1}, headers=key).status_code == 201
    assert stock_of(db, a["product_id"]) == 8


def test_an_expired_key_is_treated_as_new(shop, db):
    user, store = shop
    a = add_product(db, store, stock=10)
    key = str(uuid.uuid4())
    assert (
        user.post(
            "/api/transactions/checkout", json={"items": [frontend_item(a, 1)]}, headers={"Idempotency-Key": key}
        ).status_code
        == 201
    )
    with db.cursor() as cur:
        cur.execute("UPDATE idempotency_keys SET created_at = now() - interval '2 days' WHERE key = %s", (key,))
    r = user.post("/api/transactions/checkout", json={"items": [frontend_item(a, 2)]}, headers={"Idempotency-Key": key})
    assert r.status_code == 201 and "idempotent-replayed" not in r.headers
    assert stock_of(db, a["product_id"]) == 7


async def test_purge_expired_deletes_only_old_keys(stack, shop, db):
    from siprems.db import create_pool
    from siprems.idempotency import purge_expired

    _, store = shop
    with db.cursor() as cur:
        cur.execute(
            """INSERT INTO idempotency_keys (store_id, key, scope, request_hash, status_code, response,
                                                     created_at)
                       SELECT %s, 'old-' || g, 'test', 'h', 201, '{}', now() - interval '3 days'
                         FROM generate_series(1, 12) g""",
            (store,),
        )
        cur.execute(
            """INSERT INTO idempotency_keys (store_id, key, scope, request_hash, status_code, response)
                       VALUES (%s, 'fresh', 'test', 'h', 201, '{}')""",
            (store,),
        )
    pool = await create_pool(stack.database_url, maxsize=2)
    try:
        assert await purge_expired(pool, 86400, batch=5) >= 12
    finally:
        pool.close()
        await pool.wait_closed()
    with db.cursor() as cur:
        cur.execute("SELECT key FROM idempotency_keys WHERE store_id = %s AND scope = 'test'", (store,))
        assert [row["key"] for row in cur.fetchall()] == ["fresh"]
