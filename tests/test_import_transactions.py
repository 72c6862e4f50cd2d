"""`POST /api/transactions/import`: past sales lines by SKU, JSON or CSV,
validated first, written atomically and fast; stock never changes."""

from __future__ import annotations

import random
import socket
import time
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import redis

from siprems import keys
from test_import_products import csv_body
from test_products_api import assert_error, product, store_of

JAKARTA = timezone(timedelta(hours=7))


def sales_of(db, user) -> list[dict]:
    with db.cursor() as cur:
        cur.execute(
            """SELECT p.sku, t.quantity_sold, t.price_per_unit, t.is_promo, t.transaction_date, t.checkout_id
                       FROM transactions t JOIN products p USING (product_id)
                       WHERE t.store_id = %s ORDER BY t.transaction_id""",
            (store_of(db, user),),
        )
        return cur.fetchall()


def count_sales(db, user) -> int:
    with db.cursor() as cur:
        cur.execute("SELECT count(*) AS n FROM transactions WHERE store_id = %s", (store_of(db, user),))
        return cur.fetchone()["n"]


@pytest.fixture()
def shop(user):
    user.post("/api/products", json=product("TEA-1", price="5500.00", stock=20))
    user.post("/api/products", json=product("BREAD-1", name="Roti", price="16000", stock=3))
    return user


def test_json_import_writes_lines_without_touching_stock(shop, db):
    rows = [
        {"product_sku": "TEA-1", "quantity": 3, "transaction_date": "2025-01-05"},
        {
            "product_sku": "TEA-1",
            "quantity": 1,
            "transaction_date": "2025-01-05T10:30:00",
            "price": "5000.5",
            "is_promo": True,
        },
        {"product_sku": "BREAD-1", "quantity": 2, "transaction_date": "2025-01-06T08:00:00Z"},
    ]
    r = shop.post("/api/transactions/import", json={"transactions": rows})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["received"], body["imported"], body["products"], body["stock_changed"]) == (3, 3, 2, False)
    sales = sales_of(db, shop)
    assert [(s["sku"], s["quantity_sold"], str(s["price_per_unit"]), s["is_promo"]) for s in sales] == [
        ("TEA-1", 3, "5500.00", False),
        ("TEA-1", 1, "5000.50", True),
        ("BREAD-1", 2, "16000.00", False),
    ]
    # no offset -> the store's time zone (Asia/Jakarta); an explicit offset is kept
    assert sales[0]["transaction_date"] == datetime(2025, 1, 5, tzinfo=JAKARTA)
    assert sales[1]["transaction_date"] == datetime(2025, 1, 5, 10, 30, tzinfo=JAKARTA)
    assert sales[2]["transaction_date"] == datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
    assert all(s["checkout_id"] is None for s in sales)
    assert shop.get("/api/products/TEA-1").json()["stock"] == 20
    assert shop.get("/api/products/BREAD-1").json()["stock"] == 3


def test_csv_import_with_exported_column_names(shop, db):
    body = csv_body(
        "transaction_id,transaction_date,product_name,sku,quantity_sold,price_per_unit,is_promo",
        "17,2025-02-01T09:00:00+07:00,Teh Botol,TEA-1,4,5500,false",
        "18,2025-02-02,Roti,BREAD-1,1,,yes",
    )
    r = shop.post("/api/transactions/import", **body)
    assert r.status_code == 200, r.text
    assert r.json()["imported"] == 2
    assert [(s["sku"], s["quantity_sold"], s["is_promo"]) for s in sales_of(db, shop)] == [
        ("TEA-1", 4, False),
        ("BREAD-1", 1, True),
    ]


def test_archived_products_accept_history(shop, db):
    shop.delete("/api/products/BREAD-1", params={"archive": "true"})
    r = shop.post(
        "/api/transactions/import",
        json={"transactions": [{"product_sku": "BREAD-1", "quantity": 1, "transaction_date": "2024-05-01"}]},
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"product_sku": "NOPE-1"}, "product_sku", "no product with SKU NOPE-1"),
        ({"product_sku": ""}, "product_sku", ""),
        ({"quantity": 0}, "quantity", ""),
        ({"quantity": -2}, "quantity", ""),
        ({"quantity": 1.5}, "quantity", ""),
        ({"quantity": "two"}, "quantity", ""),
        ({"quantity": True}, "quantity", "boolean"),
        ({"quantity": None}, "quantity", "required"),
        ({"transaction_date": None}, "transaction_date", "required"),
        ({"transaction_date": "05/01/2025"}, "transaction_date", ""),
        ({"transaction_date": "20250105"}, "transaction_date", "ISO 8601"),
        ({"transaction_date": 1736035200}, "transaction_date", "ISO 8601"),
        ({"transaction_date": "2025-02-30"}, "transaction_date", ""),
        ({"transaction_date": str(date.today() + timedelta(days=5))}, "transaction_date", "future"),
        ({"transaction_date": "1969-12-31T00:00:00Z"}, "transaction_date", "1970"),
        ({"price": -1}, "price", ""),
        ({"price": "1.234"}, "price", "decimal places"),
        ({"is_promo": "sometimes"}, "is_promo", ""),
        ({"store_id": 1}, "store_id", "not a recognised field"),
    ],
)
def test_bad_rows_name_row_and_field_and_write_nothing(shop, db, change, field, words):
    rows = [{"product_sku": "TEA-1", "quantity": 1, "transaction_date": "2025-01-01"} for _ in range(3)]
    for key, value in change.items():
        if value is None:
            rows[1].pop(key)
        else:
            rows[1][key] = value
    body = assert_error(shop.post("/api/transactions/import", json={"transactions": rows}), 400, "Row 2", field, words)
    assert body["details"][0]["row"] == 2 and body["details"][0]["field"] == field
    assert count_sales(db, shop) == 0


def test_another_stores_sku_is_unknown(make_user, db):
    owner, other = make_user(), make_user()
    owner.post("/api/products", json=product("OWN-1"))
    r = other.post(
        "/api/transactions/import",
        json={"transactions": [{"product_sku": "OWN-1", "quantity": 1, "transaction_date": "2025-01-01"}]},
    )
    assert_error(r, 400, "no product with SKU OWN-1")
    assert count_sales(db, owner) == 0 and count_sales(db, other) == 0


def test_error_list_is_capped(shop, db):
    rows = [{"product_sku": f"MISSING-{i}", "quantity": 1, "transaction_date": "2025-01-01"} for i in range(50)]
    body = assert_error(shop.post("/api/transactions/import", json={"transactions": rows}), 400, "49 more")
    assert body["error_count"] == 50 and len(body["details"]) == 20
    assert [d["row"] for d in body["details"]] == list(range(1, 21))


@pytest.mark.parametrize(
    "kwargs, status, words",
    [
        ({"json": {"transactions": []}}, 400, ("No rows",)),
        ({"json": {"sales": []}}, 400, ("transactions",)),
        ({"json": {"transactions": "x"}}, 400, ("array",)),
        ({"content": b"[1,", "headers": {"Content-Type": "application/json"}}, 400, ("JSON",)),
        (csv_body("product_sku,quantity,transaction_date", "TEA-1,1"), 400, ("line 2",)),
        (csv_body("product_sku,qty,transaction_date"), 400, ("qty",)),
        (csv_body("product_sku,quantity,transaction_date", 'TEA-1,1,"2025-01-01'), 400, ("CSV",)),
        ({"content": b"\xff\xfe\x00", "headers": {"Content-Type": "text/csv"}}, 400, ("UTF-8",)),
    ],
)
def test_malformed_bodies(shop, db, kwargs, status, words):
    assert_error(shop.post("/api/transactions/import", **kwargs), status, *words)
    assert count_sales(db, shop) == 0


def test_more_than_100000_rows_is_413(shop, db):
    lines = ["product_sku,quantity,transaction_date"] + ["TEA-1,1,2025-01-01"] * 100_001
    body = assert_error(shop.post("/api/transactions/import", **csv_body(*lines)), 413, "at most 100000 rows")
    assert body["error"] == "too_many_rows"
    assert count_sales(db, shop) == 0


def test_requires_a_token(client):
    assert_error(client.post("/api/transactions/import", json={"transactions": []}), 401)


def test_oversized_body_is_413(shop, stack):
    # Announce a body above the 64 MiB import limit: refused before it is read.
    with socket.create_connection(("127.0.0.1", stack.ports.haproxy), timeout=10) as sock:
        sock.sendall(
            b"POST /api/transactions/import HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
            + f"Authorization: Bearer {shop.access_token}\r\n".encode()
            + f"Content-Length: {65 * 2**20}\r\n\r\nproduct_sku".encode()
        )
        raw = b""
        while b"\r\n\r\n" not in raw or not raw.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"413", raw
    assert b"64 MiB" in body


def test_import_bumps_the_cache_generation(shop, db, stack):
    cache = redis.Redis(port=stack.ports.redis)
    key = keys.cache_generation(store_of(db, shop), "sales")
    before = int(cache.get(key) or 0)
    shop.post(
        "/api/transactions/import",
        json={"transactions": [{"product_sku": "TEA-1", "quantity": 1, "transaction_date": "2025-01-01"}]},
    )
    assert int(cache.get(key) or 0) > before
    cache.close()


def _rows(n: int, skus: list[str]) -> list[dict]:
    rng = random.Random(42)
    start = date.today() - timedelta(days=730)
    return [
        {
            "product_sku": rng.choice(skus),
            "quantity": rng.randint(1, 9),
            "transaction_date": f"{start + timedelta(days=rng.randrange(730))}T{rng.randrange(7, 22):02d}:15:00",
            "is_promo": rng.random() < 0.1,
        }
        for _ in range(n)
    ]


def test_100000_rows_are_atomic_and_fast(make_user, db):
    user = make_user()
    skus = [f"BULK-{i:03d}" for i in range(50)]
    r = user.post("/api/products/import", json={"products": [product(s, price="1000", stock=5) for s in skus]})
    assert r.status_code == 200, r.text
    rows = _rows(100_000, skus)

    rows[-1]["quantity"] = 0  # one bad row, the very last one
    started = time.perf_counter()
    r = user.post("/api/transactions/import", json={"transactions": rows})
    rejected_in = time.perf_counter() - started
    body = assert_error(r, 400, "Row 100000", "quantity")
    assert body["error_count"] == 1
    rows[-1]["quantity"] = 1
    rows[50_000]["product_sku"] = "GONE-1"  # unknown SKU, found after validation: still nothing written
    assert_error(user.post("/api/transactions/import", json={"transactions": rows}), 400, "Row 50001")
    assert count_sales(db, user) == 0

    rows[50_000]["product_sku"] = skus[0]
    started = time.perf_counter()
    r = user.post("/api/transactions/import", json={"transactions": rows})
    elapsed = time.perf_counter() - started
    assert r.status_code == 200, r.text
    assert r.json()["imported"] == 100_000
    assert count_sales(db, user) == 100_000
    assert all(p["stock"] == 5 for p in user.get("/api/products").json())
    print(
        f"\n100,000-row transactions import: {elapsed:.2f} s = {100_000 / elapsed:,.0f} rows/s "
        f"(rejected bad import in {rejected_in:.2f} s)"
    )
