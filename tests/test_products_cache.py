"""Cached product reads (list, stats, categories) and settings stay correct
right after a write made through the OTHER API instance: the cache lives in
Redis (shared), and every committed write bumps the store's generation."""

from __future__ import annotations

import httpx
import pytest

from test_import_products import csv_body
from test_products_api import product, store_of


@pytest.fixture()
def instances(stack, user):
    """Clients that talk to api1 and api2 directly (bypassing HAProxy)."""
    clients = [
        httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=user.headers, timeout=30) for port in stack.ports.api
    ]
    assert [c.get("/health").headers["x-instance"] for c in clients] == ["api1", "api2"]
    yield clients
    for c in clients:
        c.close()


def sku_list(client) -> list[str]:
    r = client.get("/api/products")
    assert r.status_code == 200, r.text
    return [p["sku"] for p in r.json()]


def test_reads_are_served_from_the_shared_cache(instances, user, db):
    api1, api2 = instances
    api1.post("/api/products", json=product("C-1", name="Cached"))
    assert sku_list(api1) == ["C-1"]
    api1.get("/api/products/stats")
    # A change behind the API's back (no invalidation) stays invisible on BOTH
    # instances until the TTL: proof that they read one shared cache entry.
    with db.cursor() as cur:
        cur.execute(
            "UPDATE products SET name = 'Sneaky', stock = 0 WHERE store_id = %s AND sku = 'C-1'", (store_of(db, user),)
        )
    assert api2.get("/api/products").json()[0]["name"] == "Cached"
    assert api2.get("/api/products/stats").json()["low_stock_items"] == 0
    # The single-product read is never cached.
    assert api2.get("/api/products/C-1").json()["name"] == "Sneaky"


def test_write_on_one_instance_is_seen_by_the_other_at_once(instances):
    api1, api2 = instances
    assert sku_list(api1) == [] and api1.get("/api/products/stats").json()["active_products"] == 0
    assert api1.get("/api/products/categories").json() == {"categories": []}

    r = api2.post("/api/products", json=product("W-1", category="Drinks", stock=2, price=10))
    assert r.status_code == 201 and r.headers["x-instance"] == "api2"
    assert sku_list(api1) == ["W-1"]
    assert api1.get("/api/products/stats").json() == {
        "active_products": 1,
        "low_stock_items": 1,
        "total_inventory_value": 20,
    }
    assert api1.get("/api/products/categories").json() == {"categories": ["Drinks"]}

    api1.patch("/api/products/W-1", json={"stock": 50, "category": "Beverages"})
    assert api2.get("/api/products").json()[0]["stock"] == 50
    assert api2.get("/api/products/stats").json()["low_stock_items"] == 0
    assert api2.get("/api/products/categories").json() == {"categories": ["Beverages"]}

    api2.put("/api/products/W-1", json=product("W-2", price=1, stock=3))
    assert sku_list(api1) == ["W-2"] and api1.get("/api/products/stats").json()["total_inventory_value"] == 3

    api1.post("/api/products/import", **csv_body("sku,name,category,price,stock", "W-3,x,Snacks,2,2"))
    assert sku_list(api2) == ["W-3", "W-2"]
    assert api2.get("/api/products/categories").json() == {"categories": ["Beverages", "Snacks"]}

    api2.delete("/api/products/W-3", params={"archive": "true"})
    assert sku_list(api1) == ["W-2"]
    api1.delete("/api/products/W-2")
    assert sku_list(api2) == [] and api2.get("/api/products/stats").json()["active_products"] == 0


def test_settings_read_after_write_on_the_other_instance(instances):
    api1, api2 = instances
    assert api1.get("/api/settings/store").json()["opening_hours"]["Monday"]["closed"] is False
    api2.put("/api/settings/save-all", json={"name": "Fresh", "opening_hours": {"Monday": {"closed": True}}})
    body = api1.get("/api/settings/store").json()
    assert body["store"]["name"] == "Fresh" and body["opening_hours"]["Monday"]["closed"] is True
    assert api1.get("/api/settings/operating-hours").json()["Monday"]["closed"] is True


def test_round_robin_through_haproxy_reads_its_writes(user):
    """Alternate writes and reads through HAProxy; each read must reflect the
    write just before it, whichever instance served either."""
    pairs = set()
    for i in range(8):
        w = user.post("/api/products", json=product(f"RR-{i}", stock=i))
        assert w.status_code == 201, w.text
        r = user.get("/api/products")
        assert len(r.json()) == i + 1 and r.json()[0]["sku"] == f"RR-{i}"
        s = user.get("/api/products/stats")
        assert s.json()["active_products"] == i + 1
        pairs.add((w.headers["x-instance"], r.headers["x-instance"]))
        pairs.add((w.headers["x-instance"], s.headers["x-instance"]))
    # writes on one instance were read back on the other, both ways
    assert {("api1", "api2"), ("api2", "api1")} <= pairs


def test_cache_is_per_store(make_user, stack):
    a, b = make_user(), make_user()
    a.post("/api/products", json=product("A-ONLY"))
    assert [p["sku"] for p in a.get("/api/products").json()] == ["A-ONLY"]
    assert b.get("/api/products").json() == []
    assert b.get("/api/products/stats").json()["active_products"] == 0
