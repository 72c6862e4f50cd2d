"""Every surface tells the same stock story for one store (issue 14): product
responses, /api/products/stats, the dashboard cards and critical-stock list,
the restock list, /api/predict, the built-in assistant and the Gemini
grounding all come from siprems.inventory.policy."""

from __future__ import annotations

import re
import time

import pytest

from siprems.chat import facts, grounding
from siprems.db import create_pool
from support_sales import add_product, add_sale, local_noon, store_of


@pytest.fixture(scope="module")
def worker(stack):
    """A job worker: models are trained there, never in the API."""
    stack.start("worker", wait_port=0)
    yield
    stack.stop("worker")


def with_model(user, sku: str, timeout: float = 120.0) -> dict:
    """POST /api/predict until the answer comes from a trained model (bounded wait)."""
    deadline = time.monotonic() + timeout
    while True:
        r = user.post("/api/predict", json={"product_sku": sku, "days": 7})
        assert r.status_code == 200, r.text
        if not r.json()["model"]["provisional"]:
            return r.json()
        assert time.monotonic() < deadline, f"no model for {sku} after {timeout} s"
        time.sleep(0.3)


@pytest.fixture()
def store(user, db, worker):
    store_id = store_of(db, user)
    add_product(db, store_id, "ONE-1", stock=1, name="Lonely Widget")  # stock 1, never sold: low
    add_product(db, store_id, "NONE-1", stock=0, name="Empty Shelf")  # out
    add_product(db, store_id, "MANY-1", stock=500, name="Plenty Box")  # ok
    sold = add_product(db, store_id, "SOLD-1", stock=12, name="Daily Bread")  # trained below: forecast-based
    for days_ago in range(1, 60):
        add_sale(db, store_id, sold["product_id"], 6, "1000", local_noon(days_ago))
    return user, store_id, with_model(user, "SOLD-1")


def _low_names(answer: str) -> set[str]:
    return set(re.findall(r"^- (.+?) \(", answer, re.MULTILINE))


async def test_all_surfaces_agree(store, stack):
    user, store_id, predicted = store
    products = {p["sku"]: p for p in user.get("/api/products").json()}
    status = {sku: p["stock_status"] for sku, p in products.items()}
    assert status["ONE-1"] == "low" and status["NONE-1"] == "out" and status["MANY-1"] == "ok"
    assert status["SOLD-1"] == "low"  # 12 units against ~6/day over a 2-day lead time plus safety stock
    not_ok = {sku for sku, s in status.items() if s != "ok"}

    assert user.get("/api/products/stats").json()["low_stock_items"] == len(not_ok)

    dash = user.get("/api/dashboard-stats").json()
    assert dash["cards"]["low_stock_items"] == len(not_ok)
    listed = {row["sku"]: row for row in dash["stockComparison"]}
    assert {row["sku"] for row in dash["stockComparison"][: len(not_ok)]} == not_ok  # most urgent first
    for sku, row in listed.items():
        assert row["status"] == status[sku]

    restock = {i["sku"]: i for i in user.get("/api/predict/restock").json()["items"]}
    assert {sku: i["stockStatus"] for sku, i in restock.items()} == status
    for sku, row in listed.items():
        assert row["recommended_order"] == restock[sku]["recommendedRestock"]
        if status[sku] != "ok":  # the order brings the stock up to the dashboard's "optimal"
            assert row["optimal"] == row["current"] + row["recommended_order"]

    rec = predicted["recommendations"][0]
    for key in ("stockStatus", "recommendedRestock", "daysOfStock", "reorderPoint", "urgency", "safetyStock"):
        assert rec[key] == restock["SOLD-1"][key], key
    assert rec["basis"] == "forecast" and restock["ONE-1"]["basis"] == "reorder_level"

    low_answer = user.post("/api/chat", json={"message": "Which products are low on stock?"}).json()["content"]
    names = {p["name"]: p["sku"] for p in products.values()}
    assert {names[n] for n in _low_names(low_answer)} == not_ok, low_answer
    assert "Lonely Widget" in low_answer
    restock_answer = user.post("/api/chat", json={"message": "What should I restock and how much?"}).json()
    for sku in not_ok:
        qty = restock[sku]["recommendedRestock"]
        if qty:
            name = products[sku]["name"]
            assert re.search(rf"- {re.escape(name)}: order {qty} units? ", restock_answer["content"]), restock_answer

    pool = await create_pool(stack.database_url, maxsize=2)
    try:
        s = await facts.answer_context(pool, store_id)
        assert s is not None
        data = await grounding.summary(pool, s, "How is business?")
    finally:
        pool.close()
        await pool.wait_closed()
    low_line = next(line for line in data.splitlines() if line.startswith("Low on stock"))
    assert low_line.startswith(f"Low on stock ({len(not_ok)}):"), low_line
    for sku in not_ok:
        assert f"[{sku}]" in low_line and f"order {restock[sku]['recommendedRestock']}" in low_line, low_line


def test_stock_on_order_counts_the_same_on_predict_and_the_restock_list(user, db, worker):
    """A submitted purchase order arriving tomorrow is incoming stock for the policy: /api/predict
    and /api/predict/restock both count it (and agree on the status it leads to)."""
    store_id = store_of(db, user)
    p = add_product(db, store_id, "PO-1", stock=3, name="Ordered Goods")
    for days_ago in range(1, 60):
        add_sale(db, store_id, p["product_id"], 6, "1000", local_noon(days_ago))
    with_model(user, "PO-1")
    before = user.post("/api/predict", json={"product_sku": "PO-1", "days": 7}).json()["recommendations"][0]
    assert before["incomingStock"] == 0 and before["stockStatus"] == "low"
    with db.cursor() as cur:
        cur.execute("INSERT INTO suppliers (store_id, name) VALUES (%s, 'S') RETURNING supplier_id", (store_id,))
        supplier_id = cur.fetchone()["supplier_id"]
        cur.execute(
            """INSERT INTO purchase_orders (store_id, supplier_id, status, expected_date, ordered_at)
               VALUES (%s, %s, 'ordered', (now() AT TIME ZONE 'Asia/Jakarta')::date + 1, now()) RETURNING po_id""",
            (store_id, supplier_id),
        )
        po_id = cur.fetchone()["po_id"]
        cur.execute(
            "INSERT INTO purchase_order_lines (po_id, store_id, product_id, quantity) VALUES (%s, %s, %s, 500)",
            (po_id, store_id, p["product_id"]),
        )
    rec = user.post("/api/predict", json={"product_sku": "PO-1", "days": 7}).json()["recommendations"][0]
    listed = {i["sku"]: i for i in user.get("/api/predict/restock").json()["items"]}["PO-1"]
    assert rec["incomingStock"] == listed["incomingStock"] == 500
    assert rec["stockStatus"] == listed["stockStatus"] == "ok"
    assert rec["recommendedRestock"] == listed["recommendedRestock"] == 0
