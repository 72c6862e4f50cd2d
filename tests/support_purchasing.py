"""Helpers of the purchasing tests: products with a sales history (trained
through /api/predict, so the restock advice has a model), and suppliers."""

from __future__ import annotations

import time

from support_sales import store_of


def product_with_history(db, store_id: int, sku: str, *, days: int = 60, stock: int = 0, cost: str = "700") -> int:
    """A product selling 10/day on weekdays and 16/day on weekends for `days` days."""
    with db.cursor() as cur:
        cur.execute(
            """INSERT INTO products (store_id, sku, name, category, price, cost_price, stock)
               VALUES (%s, %s, %s, 'Test', 1000, %s, %s) RETURNING product_id""",
            (store_id, sku, f"Item {sku}", cost, stock),
        )
        pid = cur.fetchone()["product_id"]
        cur.execute(
            """INSERT INTO transactions (store_id, product_id, quantity_sold, price_per_unit, transaction_date)
               SELECT %s, %s, CASE WHEN extract(isodow FROM d) >= 6 THEN 16 ELSE 10 END, 1000, d + interval '10 hours'
               FROM generate_series(current_date - %s, current_date - 1, interval '1 day') AS d""",
            (store_id, pid, days),
        )
    return pid


def train(user, sku: str, timeout: float = 90.0) -> None:
    """Until /api/predict answers from a trained model (a worker trains it; needs the `worker` fixture)."""
    deadline = time.monotonic() + timeout
    while True:
        r = user.post("/api/predict", json={"product_sku": sku, "days": 7})
        assert r.status_code == 200, r.text
        if not r.json()["model"].get("provisional"):
            return
        assert time.monotonic() < deadline, f"no model for {sku} after {timeout} s"
        time.sleep(0.3)


def supplier(user, name: str, lead_time_days: int = 3, **fields) -> dict:
    r = user.post("/api/suppliers", json={"name": name, "lead_time_days": lead_time_days, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def assign(user, sku: str, supplier_id: int | None, **fields) -> dict:
    r = user.patch(f"/api/products/{sku}/purchasing", json={"supplier_id": supplier_id, **fields})
    assert r.status_code == 200, r.text
    return r.json()


__all__ = ["assign", "product_with_history", "store_of", "supplier", "train"]
