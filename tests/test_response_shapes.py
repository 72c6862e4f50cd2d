"""Responses match the schemas the OpenAPI document declares for them (which
are generated from the response classes): per resource, a walk through its
routes with every body checked closed (see support_shapes.py)."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from support_purchasing import supplier
from support_sales import add_product, store_of
from support_shapes import Shapes


@pytest.fixture(scope="module")
def shapes(base_url) -> Shapes:
    return Shapes(httpx.get(base_url + "/docs/openapi.json").json())


def test_suppliers_and_purchasing(user, db, shapes):
    add_product(db, store_of(db, user), "SH-1")
    created = shapes.check(user.post("/api/suppliers", json={"name": "Shape Co", "email": "s@shape.example"}), 201)
    sid = created["supplier_id"]
    shapes.check(user.get("/api/suppliers"))
    shapes.check(user.get(f"/api/suppliers/{sid}"))
    shapes.check(user.patch(f"/api/suppliers/{sid}", json={"notes": "Mondays"}))
    shapes.check(user.patch("/api/products/SH-1/purchasing", json={"supplier_id": sid, "pack_size": 6}))
    shapes.check(user.get("/api/products/SH-1/purchasing"))
    shapes.check(user.patch("/api/products/SH-1/purchasing", json={"supplier_id": None}))
    assert supplier(user, "Other Co")["name"] == "Other Co"
    shapes.check(user.delete(f"/api/suppliers/{sid}"))
    shapes.check(user.get(f"/api/suppliers/{sid}"), 404)


def test_settings(user, shapes):
    shapes.check(user.get("/api/settings/store"))
    shapes.check(user.get("/api/settings/operating-hours"))
    shapes.check(user.put("/api/settings/store", json={"address": "Jl. Contoh 1"}))
    shapes.check(user.post("/api/settings/store", json={"name": "Shape Shop"}))
    shapes.check(user.put("/api/settings/operating-hours", json={"Sunday": {"closed": True}}))
    shapes.check(user.put("/api/settings/save-all", json={"storeName": "Shape Shop 2"}))
    body = shapes.check(user.get("/api/settings/store"))  # the cached entry, with the caller's user_id
    assert body["store"]["user_id"] == user.user_id and body["opening_hours"]["Sunday"]["closed"] is True


def test_tasks(user, db, shapes):
    add_product(db, store_of(db, user), "SH-T")
    shapes.check(user.post("/api/tasks/training/product/SH-T"), 202)
    task_id = shapes.check(user.post("/api/tasks/training/all"), 202)["task_id"]
    shapes.check(user.get(f"/api/tasks/{task_id}"), 202)  # no worker here: it stays PENDING
    assert shapes.check(user.get("/api/tasks/active"))["active_tasks"]
    assert shapes.check(user.get("/api/tasks/scheduled"))["periodic"]
    shapes.check(user.post(f"/api/tasks/{task_id}/cancel"))
    assert shapes.check(user.get(f"/api/tasks/{task_id}"))["status"] == "REVOKED"


def test_auth(base_url, shapes):
    email, password = f"shape-{uuid.uuid4().hex[:10]}@example.com", "Quiet-Harbor-42"
    with httpx.Client(base_url=base_url, timeout=30) as c:
        body = {"email": email, "password": password, "full_name": "Shape Owner"}
        assert shapes.check(c.post("/api/auth/register", json=body), 201)["user"]["role"] == "owner"
        login = shapes.check(c.post("/api/auth/login", json={"email": email, "password": password}))
        pair = shapes.check(c.post("/api/auth/refresh", json={"refresh_token": login["refresh_token"]}))
        c.headers["Authorization"] = f"Bearer {pair['access_token']}"
        shapes.check(c.get("/api/auth/profile"))
        change = {"old_password": password, "new_password": "Other-Harbor-43"}
        pair = shapes.check(c.post("/api/auth/change-password", json=change))
        c.headers["Authorization"] = f"Bearer {pair['access_token']}"
        shapes.check(c.post("/api/auth/logout", json={"refresh_token": pair["refresh_token"]}))
        shapes.check(c.post("/api/auth/login", json={"email": email, "password": password}), 401)


def test_chat(user, client, shapes):
    sid = shapes.check(user.post("/api/chat", json={"message": "How many products are low on stock?"}))["session_id"]
    assert shapes.check(user.get("/api/chat/sessions"))["sessions"][0]["session_id"] == sid
    assert shapes.check(user.get(f"/api/chat/history/{sid}"))["history"][0]["role"] == "user"
    shapes.check(user.delete(f"/api/chat/{sid}"))
    shapes.check(client.post("/chat", json={"message": "What can you do?"}))


def test_purchase_orders(user, db, shapes):
    store = store_of(db, user)
    add_product(db, store, "SH-PO")
    sid = supplier(user, "PO Co")["supplier_id"]
    with db.cursor() as cur:
        cur.execute("INSERT INTO purchase_orders (store_id, supplier_id) VALUES (%s, %s) RETURNING po_id", (store, sid))
        po = cur.fetchone()["po_id"]
    lines = {"lines": [{"product_sku": "SH-PO", "quantity": 5, "unit_cost": "1.50"}], "notes": "first"}
    assert shapes.check(user.patch(f"/api/purchase-orders/{po}", json=lines))["total_cost"] == 7.5
    shapes.check(user.post(f"/api/purchase-orders/{po}/submit"))
    received = shapes.check(
        user.post(f"/api/purchase-orders/{po}/receive", json={"lines": [{"product_sku": "SH-PO", "quantity": 2}]})
    )
    assert received["status"] == "partially_received"
    shapes.check(user.get(f"/api/purchase-orders/{po}"))
    shapes.check(user.get("/api/purchase-orders"))
    shapes.check(user.post(f"/api/purchase-orders/{po}/cancel"))
    assert shapes.check(user.post("/api/purchase-orders/draft", json={}), 201) == {"orders": [], "without_supplier": []}


def test_webhooks(user, shapes):
    body = {"url": "http://127.0.0.1:9/hook", "events": ["stock.low", "sale.created"]}
    hook = shapes.check(user.post("/api/webhooks", json=body), 201)
    assert hook["secret"] and hook["signature_header"]
    wid = hook["webhook_id"]
    shapes.check(user.get("/api/webhooks"))
    shapes.check(user.get(f"/api/webhooks/{wid}"))
    shapes.check(user.patch(f"/api/webhooks/{wid}", json={"is_active": True}))
    assert shapes.check(user.post(f"/api/webhooks/{wid}/ping"), 202)["delivery_id"]
    assert shapes.check(user.get(f"/api/webhooks/{wid}/deliveries"))[0]["event"] == "ping"
    shapes.check(user.delete(f"/api/webhooks/{wid}"))


def test_team(user, make_user, shapes):
    shapes.check(user.get("/api/team/members"))
    other = make_user()
    invited = shapes.check(user.post("/api/team/invitations", json={"email": other.email, "role": "manager"}), 201)
    shapes.check(user.get("/api/team/invitations", params={"include_closed": "true"}))
    joined = shapes.check(other.post("/api/team/invitations/accept", json={"token": invited["token"]}))
    assert joined["role"] == "manager"
    shapes.check(user.patch(f"/api/team/members/{other.user_id}", json={"role": "cashier"}))
    shapes.check(user.delete(f"/api/team/members/{other.user_id}"))
    second = shapes.check(user.post("/api/team/invitations", json={"email": "x@shape.example", "role": "cashier"}), 201)
    assert shapes.check(user.delete(f"/api/team/invitations/{second['invitation_id']}"))["status"] == "revoked"


def test_audit_and_stock(user, db, shapes):
    add_product(db, store_of(db, user), "SH-S", stock=10)
    moved = shapes.check(
        user.post("/api/stock/adjustments", json={"product_sku": "SH-S", "delta": -2, "reason": "x"}), 201
    )
    assert moved["user_email"] == user.email and moved["balance_after"] == 8
    shapes.check(
        user.post("/api/stock/adjustments", json={"product_sku": "SH-S", "counted": 5, "reason": "count"}), 201
    )
    assert shapes.check(user.get("/api/stock/movements", params={"sku": "SH-S"}))["total"] >= 2
    user.put("/api/settings/store", json={"address": "Audited 1"})
    assert shapes.check(user.get("/api/audit"))["items"]


def test_imports(user, shapes):
    products = [{"sku": "SH-I1", "name": "Imported", "category": "Snacks", "price": 1000, "stock": 5}]
    assert shapes.check(user.post("/api/products/import", json={"products": products}))["created"] == 1
    sales = [{"product_sku": "SH-I1", "quantity": 2, "transaction_date": "2026-01-05T10:00:00"}]
    assert shapes.check(user.post("/api/transactions/import", json={"transactions": sales}))["imported"] == 1
    csv = "product_sku,quantity,transaction_date\nSH-I1,x,2026-01-05\n"
    bad = user.post("/api/transactions/import", content=csv, headers={"Content-Type": "text/csv"})
    assert shapes.check(bad, 400)["details"][0]["line"] == 2


def test_events(user, shapes):
    body = {"name": "Sale", "date": "2026-08-20", "type": "promotion", "description": "", "includeInPrediction": True}
    created = shapes.check(user.post("/api/events", json=body), 201)
    assert created["event_date"] == "2026-08-20"
    listed = shapes.check(user.get("/api/events", params={"start": "2026-08-01", "end": "2026-08-31"}))
    assert {e["is_public_holiday"] for e in listed} == {True, False}  # 17 August, Indonesia
    eid = created["event_id"]
    shapes.check(user.get(f"/api/events/{eid}"))
    shapes.check(user.get("/api/events/ph-2026-08-17"))
    shapes.check(user.put(f"/api/events/{eid}", json={**body, "name": "Big sale"}))
    shapes.check(user.delete(f"/api/events/{eid}"))


def test_products(user, shapes):
    body = {"sku": "SH-P1", "name": "Shape", "category": "Snacks", "price": 1500, "cost_price": 900.5, "stock": 3}
    created = shapes.check(user.post("/api/products", json=body), 201)
    assert (created["id"], created["sellingPrice"], created["costPrice"]) == ("SH-P1", 1500, 900.5)
    assert created["stock_status"] in ("out", "low", "ok")
    shapes.check(user.get("/api/products/SH-P1"))
    shapes.check(user.get("/api/products/SH-P1"))  # the cached bytes
    shapes.check(user.get("/api/products"))
    shapes.check(user.get("/api/products/stats"))
    shapes.check(user.get("/api/products/categories"))
    shapes.check(user.patch("/api/products/SH-P1", json={"stock": 9}))
    shapes.check(user.put("/api/products/SH-P1", json={**body, "name": "Shape 2"}))
    assert shapes.check(user.delete("/api/products/SH-P1", params={"archive": "true"}))["product"]["is_archived"]
    shapes.check(user.post("/api/products", json={**body, "sku": "SH-P2"}), 201)
    assert "product" not in shapes.check(user.delete("/api/products/SH-P2"))


def test_dashboard(user, db, client, shapes):
    add_product(db, store_of(db, user), "SH-D", stock=1)
    user.post("/api/transactions", json={"product_sku": "SH-D", "quantity": 1})
    stats = shapes.check(user.get("/api/dashboard-stats"))
    assert stats["stockComparison"] and stats["cards"]["items_sold_today"] == 1
    shapes.check(user.get("/api/system/dashboard-stats"))
    for window in ("today", "week"):
        shapes.check(user.get("/api/dashboard/metrics", params={"range": window}))
    assert len(shapes.check(user.get("/api/dashboard/sales-chart"))) == 90
    assert shapes.check(user.get("/api/dashboard/category-sales"))[0]["category"] == "Snacks"
    shapes.check(client.get("/api/system/settings/status"))


def test_transactions(user, db, shapes):
    store = store_of(db, user)
    add_product(db, store, "SH-T1", stock=20)
    add_product(db, store, "SH-T2", stock=20)
    line = shapes.check(user.post("/api/transactions", json={"product_sku": "SH-T1", "quantity": 2}), 201)
    assert line["sku"] == line["product_sku"] == "SH-T1" and line["checkout_id"] is None
    cart = {"items": [{"product": {"id": "SH-T1"}, "quantity": 1}, {"product_id": "SH-T2", "quantity": 3}]}
    done = shapes.check(user.post("/api/transactions/checkout", json=cart), 201)
    assert done["summary"]["units_count"] == 4 and len({t["checkout_id"] for t in done["transactions"]}) == 1
    replay = {"Idempotency-Key": "shape-1"}
    first = shapes.check(user.post("/api/transactions/checkout", json=cart, headers=replay), 201)
    assert shapes.check(user.post("/api/transactions/checkout", json=cart, headers=replay), 201) == first
    assert len(shapes.check(user.get("/api/transactions"))) == 5
    shapes.check(user.get(f"/api/transactions/{line['transaction_id']}"))


def test_predict(user, db, stack, shapes):
    """The provisional baseline and, once a worker has trained it, the model's answer
    (drivers included), the 202s, the restock list, the store forecast and accuracy."""
    from test_predict import _product_with_history, with_model

    _product_with_history(db, store_of(db, user), "SH-F", days=120)
    baseline = shapes.check(user.post("/api/predict", json={"product_sku": "SH-F", "days": 7}))
    assert baseline["model"]["provisional"] and baseline["recommendations"][0]["message"]
    task_id = shapes.check(user.post("/api/predict/async", json={"product_sku": "SH-F", "days": 7}), 202)["task_id"]
    shapes.check(user.get(f"/api/predict/task/{task_id}"), 202)  # no worker yet: queued
    stack.start("worker", wait_port=0)
    try:
        model = with_model(user, "SH-F")
        deadline = time.monotonic() + 60
        while (task := user.get(f"/api/predict/task/{task_id}")).status_code == 202 and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        stack.stop("worker")
    assert shapes.check(task)["status"] == "SUCCESS"
    shapes.check(user.post("/api/predict", json={"product_sku": "SH-F", "days": 7}))
    assert not model["model"]["provisional"] and "message" not in model["recommendations"][0]
    assert shapes.check(user.get("/api/predict/restock"))["items"][0]["sku"] == "SH-F"
    assert shapes.check(user.get("/api/predict/store", params={"days": 7}))["products_forecast"] == 1
    shapes.check(user.get("/api/predict/accuracy"))
    assert shapes.check(user.get("/api/predict/model/SH-F/status"))["model"]["method"]
