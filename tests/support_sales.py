"""Helpers shared by the sales, checkout, events and dashboard tests: products
and sales written straight into PostgreSQL (the products API is someone
else's), and the checks every JSON error must pass."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from support_users import User
from support_users import register as register_user

JAKARTA = ZoneInfo("Asia/Jakarta")


def store_of(db, user) -> int:
    """The store of a conftest User (or of a user id)."""
    user_id = user if isinstance(user, int) else user.user_id
    with db.cursor() as cur:
        cur.execute("SELECT store_id FROM users WHERE user_id = %s", (user_id,))
        return cur.fetchone()["store_id"]


def add_product(
    db,
    store_id: int,
    sku: str | None = None,
    *,
    stock: int = 10,
    price: str | int = "10000.00",
    name: str | None = None,
    category: str = "Snacks",
    archived: bool = False,
) -> dict:
    sku = sku or f"SKU-{uuid.uuid4().hex[:8].upper()}"
    with db.cursor() as cur:
        cur.execute(
            """INSERT INTO products (store_id, sku, name, category, price, stock, is_archived)
               VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING product_id, sku, name, price, stock""",
            (store_id, sku, name or f"Product {sku}", category, Decimal(str(price)), stock, archived),
        )
        return dict(cur.fetchone())


def add_sale(
    db, store_id: int, product_id: int, quantity: int, price: str | int, when: datetime, checkout_id: str | None = None
) -> int:
    with db.cursor() as cur:
        cur.execute(
            """INSERT INTO transactions (store_id, product_id, quantity_sold, price_per_unit, transaction_date,
                                         checkout_id)
               VALUES (%s, %s, %s, %s, %s, %s) RETURNING transaction_id""",
            (store_id, product_id, quantity, Decimal(str(price)), when, checkout_id),
        )
        return cur.fetchone()["transaction_id"]


def stock_of(db, product_id: int) -> int:
    with db.cursor() as cur:
        cur.execute("SELECT stock FROM products WHERE product_id = %s", (product_id,))
        return cur.fetchone()["stock"]


def sales_count(db, product_id: int) -> int:
    with db.cursor() as cur:
        cur.execute("SELECT count(*) AS n FROM transactions WHERE product_id = %s", (product_id,))
        return cur.fetchone()["n"]


def local_today() -> datetime:
    """Midnight today in Jakarta (the default store time zone), aware."""
    now = datetime.now(JAKARTA)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def local_noon(days_ago: int = 0) -> datetime:
    return local_today() - timedelta(days=days_ago) + timedelta(hours=12)


def utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


def assert_error(r, status: int, *mentions: str) -> dict:
    """A JSON error with string `error` and `message`; the message names each of `mentions`."""
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    assert isinstance(body.get("message"), str) and body["message"], body
    for word in mentions:
        assert word in body["message"], (word, body)
    assert "Traceback" not in r.text and "psycopg2" not in r.text and "SELECT" not in r.text
    return body


# Shared with conftest: a registered user, and registration that waits out 429s.
ApiUser = User


def register(base_url: str) -> User:
    return register_user(base_url, prefix="sales", full_name="Shop Owner")


def anonymous(client, method: str, path: str, **kwargs):
    """A request without a token; waits out the per-IP limit the session shares."""
    deadline = time.monotonic() + 30
    r = client.request(method, path, **kwargs)
    while r.status_code == 429 and time.monotonic() < deadline:
        time.sleep(float(r.headers.get("retry-after", "1")))
        r = client.request(method, path, **kwargs)
    return r
