"""Dashboard figures from real data: local-day boundaries (Asia/Jakarta),
checkouts counted once, zero days in trends, optimal stock from the stock policy,
period comparisons, caching with invalidation, tenancy, public status."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from support_sales import (
    add_product,
    add_sale,
    anonymous,
    assert_error,
    local_today,
    store_of,
)

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@pytest.fixture()
def shop(user, db):
    """Two products (plus an archived one) and sales today, yesterday, 10 and 40 days ago."""
    store = store_of(db, user)
    alpha = add_product(db, store, "ALPHA", stock=3, price="1000", name="Alpha", category="Drinks")
    beta = add_product(db, store, "BETA", stock=50, price="2500.50", name="Beta", category="Food")
    add_product(db, store, "OLD", stock=0, archived=True)
    today = local_today()
    checkout = str(uuid.uuid4())
    add_sale(db, store, alpha["product_id"], 2, "1000", today + timedelta(hours=9), checkout)
    add_sale(db, store, beta["product_id"], 1, "2500.50", today + timedelta(hours=9), checkout)
    add_sale(db, store, beta["product_id"], 3, "2500.50", today + timedelta(minutes=30))  # 17:30 UTC yesterday
    add_sale(db, store, alpha["product_id"], 4, "1000", today - timedelta(minutes=30))  # yesterday 23:30 local
    add_sale(db, store, alpha["product_id"], 24, "1000", today - timedelta(days=10) + timedelta(hours=12))
    add_sale(db, store, alpha["product_id"], 100, "1000", today - timedelta(days=40) + timedelta(hours=12))
    return user, store, today


def test_dashboard_stats_from_real_data(shop):
    user, _, today = shop
    r = user.get("/api/dashboard-stats")
    assert r.status_code == 200, r.text
    body = r.json()
    cards = body["cards"]
    assert cards["daily_transactions"] == 2  # one checkout of two lines + one single line
    assert cards["items_sold_today"] == 6
    assert Decimal(str(cards["daily_revenue"])) == Decimal("12002.00")
    assert cards["active_products"] == 2 and cards["low_stock_items"] == 1
    trend = body["salesTrend"]
    days = [(today - timedelta(days=6 - i)).date() for i in range(7)]
    assert [p["date"] for p in trend] == [WEEKDAYS[d.weekday()] for d in days]
    assert [p["day"] for p in trend] == [d.isoformat() for d in days]
    assert [p["sales"] for p in trend] == [0, 0, 0, 0, 0, 4, 6]
    assert body["stockComparison"] == [
        # No forecast models: the reorder level (5) decides; "optimal" is the order-up-to level (2 x 5).
        {
            "product": "Alpha",
            "sku": "ALPHA",
            "current": 3,
            "optimal": 10,
            "avg_daily_demand": 1.0,
            "status": "low",
            "reorder_point": 5.0,
            "recommended_order": 7,
        },
        {
            "product": "Beta",
            "sku": "BETA",
            "current": 50,
            "optimal": 10,
            "avg_daily_demand": 0.0,
            "status": "ok",
            "reorder_point": 5.0,
            "recommended_order": 0,
        },
    ]
    assert user.get("/api/system/dashboard-stats").json() == body


def test_a_new_store_gets_zeros_and_seven_zero_days(user):
    body = user.get("/api/dashboard-stats").json()
    assert body["cards"] == {
        "daily_transactions": 0,
        "active_products": 0,
        "low_stock_items": 0,
        "daily_revenue": 0,
        "items_sold_today": 0,
    }
    assert len(body["salesTrend"]) == 7 and all(p["sales"] == 0 for p in body["salesTrend"])
    assert body["stockComparison"] == []


def test_sales_show_up_immediately_on_every_instance(user, db):
    store = store_of(db, user)
    p = add_product(db, store, stock=20, price="5000")
    before = user.get("/api/dashboard-stats").json()["cards"]
    assert before["daily_transactions"] == 0
    user.get("/api/dashboard/metrics", params={"range": "today"})
    assert (
        user.post("/api/transactions/checkout", json={"items": [{"product_id": p["sku"], "quantity": 2}]}).status_code
        == 201
    )
    assert user.post("/api/transactions", json={"product_sku": p["sku"], "quantity": 1}).status_code == 201
    seen = set()
    for _ in range(4):
        r = user.get("/api/dashboard-stats")
        seen.add(r.headers["x-instance"])
        cards = r.json()["cards"]
        assert (cards["daily_transactions"], cards["items_sold_today"], cards["daily_revenue"]) == (2, 3, 15000)
        assert r.json()["stockComparison"][0]["current"] == 17
    for _ in range(2):
        m = user.get("/api/dashboard/metrics", params={"range": "today"}).json()
        assert (m["totalTransactions"], m["totalItemsSold"], m["totalRevenue"]) == (2, 3, 15000)
    assert seen == {"api1", "api2"}


@pytest.mark.parametrize(
    "range_, expected",
    [
        ("today", (12002, 2, 6, 4000, 1, 4, 200.1, 100.0, 50.0)),
        ("week", (16002, 3, 10, 24000, 1, 24, -33.3, 200.0, -58.3)),
        ("month", (40002, 4, 34, 100000, 1, 100, -60.0, 300.0, -66.0)),
        ("year", (140002, 5, 134, 0, 0, 0, None, None, None)),
    ],
)
def test_metrics_compare_with_the_previous_period_of_the_same_length(shop, range_, expected):
    user, _, today = shop
    r = user.get("/api/dashboard/metrics", params={"range": range_})
    assert r.status_code == 200, r.text
    m = r.json()
    revenue, transactions, items, p_revenue, p_transactions, p_items, d_rev, d_tx, d_items = expected
    assert m["range"] == range_
    assert Decimal(str(m["totalRevenue"])) == revenue and m["totalTransactions"] == transactions
    assert m["totalItemsSold"] == items
    assert (m["revenueChange"], m["transactionsChange"], m["itemsChange"]) == (d_rev, d_tx, d_items)
    prev = m["previous"]
    assert (Decimal(str(prev["totalRevenue"])), prev["totalTransactions"], prev["totalItemsSold"]) == (
        p_revenue,
        p_transactions,
        p_items,
    )
    days = {"today": 1, "week": 7, "month": 30, "year": 365}[range_]
    assert m["period"]["end"] == today.date().isoformat()
    assert m["period"]["start"] == (today - timedelta(days=days - 1)).date().isoformat()
    assert prev["end"] == (today - timedelta(days=days)).date().isoformat()
    assert prev["start"] == (today - timedelta(days=2 * days - 1)).date().isoformat()


def test_metrics_default_and_bad_range(user):
    assert user.get("/api/dashboard/metrics").json()["range"] == "today"
    assert_error(user.get("/api/dashboard/metrics", params={"range": "decade"}), 400, "range")


def test_sales_chart_has_ninety_contiguous_days(shop):
    user, _, today = shop
    points = user.get("/api/dashboard/sales-chart").json()
    assert len(points) == 90
    assert [p["date"] for p in points] == [(today - timedelta(days=89 - i)).date().isoformat() for i in range(90)]
    by_date = {p["date"]: p for p in points}
    assert by_date[today.date().isoformat()] == {
        "date": today.date().isoformat(),
        "sales": 6,
        "revenue": 12002,
        "transactions_count": 2,
    }
    assert by_date[(today - timedelta(days=10)).date().isoformat()]["sales"] == 24
    assert by_date[(today - timedelta(days=40)).date().isoformat()]["sales"] == 100
    assert sum(p["sales"] for p in points) == 134


def test_category_sales_over_ninety_days(shop):
    user, _, _ = shop
    rows = user.get("/api/dashboard/category-sales").json()
    assert [(r["category"], r["value"], r["units"]) for r in rows] == [("Drinks", 130000, 130), ("Food", 10002, 4)]
    assert all(isinstance(r["color"], str) and r["color"].startswith("#") for r in rows)


def test_another_store_sees_none_of_it(shop, make_user):
    other = make_user()
    assert other.get("/api/dashboard-stats").json()["cards"]["items_sold_today"] == 0
    assert other.get("/api/dashboard/category-sales").json() == []
    assert other.get("/api/dashboard/metrics", params={"range": "year"}).json()["totalRevenue"] == 0
    assert sum(p["sales"] for p in other.get("/api/dashboard/sales-chart").json()) == 0


def test_dashboard_routes_require_a_token(client):
    for path in (
        "/api/dashboard-stats",
        "/api/system/dashboard-stats",
        "/api/dashboard/metrics",
        "/api/dashboard/sales-chart",
        "/api/dashboard/category-sales",
    ):
        assert_error(anonymous(client, "GET", path), 401)


def test_settings_status_is_public(client):
    r = anonymous(client, "GET", "/api/system/settings/status")
    assert r.status_code == 200
    body = r.json()
    assert body["database_status"] == "Connected"
    assert isinstance(body["version"], str) and body["version"]
    assert isinstance(body["ai_model"], str) and body["ai_model"]
    assert isinstance(body["last_updated"], str)
