"""`/api/products`: CRUD by SKU, the frontend's camelCase aliases, exact money,
validation of every field, list filters, stats, categories, delete/archive
and cross-store isolation (always 404, never data)."""

from __future__ import annotations

from decimal import Decimal

import pytest

FIELDS = {
    "product_id",
    "sku",
    "name",
    "category",
    "variation",
    "cost_price",
    "price",
    "stock",
    "description",
    "created_at",
    "updated_at",
    "is_archived",
    "lead_time_days",
    "service_level",
    "reorder_level",
    "stock_status",
    "id",
    "sellingPrice",
    "costPrice",
}


def product(sku: str = "SKU-001", **over) -> dict:
    body = {"sku": sku, "name": "Teh Botol", "category": "Beverages", "price": 5500, "stock": 20}
    body.update(over)
    return body


def assert_error(r, status: int, *words: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert isinstance(body["error"], str) and isinstance(body["message"], str), body
    for word in words:
        assert word in body["message"], body
    return body


def store_of(db, user) -> int:
    with db.cursor() as cur:
        cur.execute("SELECT store_id FROM users WHERE user_id = %s", (user.user_id,))
        return cur.fetchone()["store_id"]


def record_sale(db, user, sku: str, quantity: int = 1) -> None:
    """A sale written directly (the transactions API belongs to another module)."""
    with db.cursor() as cur:
        cur.execute(
            """INSERT INTO transactions (store_id, product_id, quantity_sold, price_per_unit)
                       SELECT store_id, product_id, %s, price FROM products WHERE store_id = %s AND sku = %s""",
            (quantity, store_of(db, user), sku),
        )
        assert cur.rowcount == 1


# --- create and read ------------------------------------------------------------


def test_create_returns_201_with_contract_fields_and_aliases(user):
    r = user.post("/api/products", json=product(cost_price=3800.5, variation="350ml", description="Sweet tea"))
    assert r.status_code == 201, r.text
    p = r.json()
    assert set(p) == FIELDS
    assert p["sku"] == p["id"] == "SKU-001"
    assert p["price"] == p["sellingPrice"] == 5500
    assert p["cost_price"] == p["costPrice"] == 3800.5
    assert p["stock"] == 20 and p["is_archived"] is False
    assert p["lead_time_days"] == 2 and p["service_level"] == 0.95
    assert p["reorder_level"] == 5 and p["stock_status"] == "ok"  # no model: stock 20 > reorder level 5
    assert isinstance(p["product_id"], int) and p["created_at"] and p["updated_at"]
    assert user.get("/api/products/SKU-001").json() == p


def test_reorder_level_is_editable_and_decides_the_status_without_a_model(user):
    assert user.post("/api/products", json=product("RL-1", stock=8)).json()["stock_status"] == "ok"
    r = user.patch("/api/products/RL-1", json={"reorder_level": 8})
    assert r.status_code == 200, r.text
    assert r.json()["reorder_level"] == 8 and r.json()["stock_status"] == "low"
    assert [p["stock_status"] for p in user.get("/api/products").json()] == ["low"]
    assert user.get("/api/products/stats").json()["low_stock_items"] == 1
    assert user.patch("/api/products/RL-1", json={"stock": 0}).json()["stock_status"] == "out"
    kept = user.put("/api/products/RL-1", json={"name": "n", "category": "c", "price": 1, "stock": 9}).json()
    assert kept["reorder_level"] == 8 and kept["stock_status"] == "ok"  # PUT keeps it unless sent
    assert_error(user.patch("/api/products/RL-1", json={"reorder_level": -1}), 400, "reorder_level")
    assert_error(user.patch("/api/products/RL-1", json={"reorder_level": "many"}), 400, "reorder_level")


def test_frontend_types_shape_creates_a_product(user):
    body = {
        "id": "prod-001",
        "name": "Wireless Mouse",
        "category": "Electronics",
        "costPrice": 12.5,
        "sellingPrice": 24.99,
        "stock": 45,
        "description": "2.4 GHz",
    }
    r = user.post("/api/products", json=body)
    assert r.status_code == 201, r.text
    p = r.json()
    assert (p["sku"], p["price"], p["cost_price"], p["sellingPrice"], p["costPrice"]) == (
        "prod-001",
        24.99,
        12.5,
        24.99,
        12.5,
    )
    assert p["description"] == "2.4 GHz"


def test_older_frontend_shape_creates_a_product(user):
    r = user.post(
        "/api/products",
        json={"name": "Pen", "sku": "PEN-01", "category": "Stationery", "variation": "blue", "price": 1.5, "stock": 3},
    )
    assert r.status_code == 201, r.text
    assert r.json()["variation"] == "blue"


def test_duplicate_sku_is_409_naming_it(user):
    assert user.post("/api/products", json=product("DUP-1")).status_code == 201
    assert_error(user.post("/api/products", json=product("DUP-1")), 409, "Product with SKU DUP-1 already exists")


def test_same_sku_in_two_stores_is_fine(make_user):
    a, b = make_user(), make_user()
    assert a.post("/api/products", json=product("SHARED-1")).status_code == 201
    assert b.post("/api/products", json=product("SHARED-1")).status_code == 201


def test_money_is_exact(user, db):
    user.post("/api/products", json=product("M-1", price="0.10", stock=3))
    user.post("/api/products", json=product("M-2", price=0.2, stock=1))
    stats = user.get("/api/products/stats").json()
    assert stats["total_inventory_value"] == 0.5  # 0.1*3 + 0.2 exactly, not 0.5000000000000001
    with db.cursor() as cur:
        cur.execute("SELECT price FROM products WHERE store_id = %s AND sku = 'M-1'", (store_of(db, user),))
        assert cur.fetchone()["price"] == Decimal("0.10")


def test_missing_product_is_404_naming_the_sku(user):
    assert_error(user.get("/api/products/NOPE-1"), 404, "Product with SKU NOPE-1 not found")


def test_routes_require_a_token(client):
    for method, path in [
        ("GET", "/api/products"),
        ("POST", "/api/products"),
        ("GET", "/api/products/stats"),
        ("GET", "/api/products/categories"),
        ("GET", "/api/products/X-1"),
        ("PUT", "/api/products/X-1"),
        ("PATCH", "/api/products/X-1"),
        ("DELETE", "/api/products/X-1"),
    ]:
        assert_error(client.request(method, path), 401)


# --- validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, field",
    [
        ({"sku": None}, "sku"),
        ({"name": None}, "name"),
        ({"category": None}, "category"),
        ({"price": None}, "price"),
        ({"stock": None}, "stock"),
        ({"sku": "ab"}, "sku"),
        ({"sku": "x" * 51}, "sku"),
        ({"sku": "has space"}, "sku"),
        ({"sku": "stats"}, "sku"),
        ({"sku": "Import"}, "sku"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "n" * 256}, "name"),
        ({"name": 12}, "name"),
        ({"category": "c" * 101}, "category"),
        ({"price": -1}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": True}, "price"),
        ({"price": 1.005}, "price"),
        ({"price": 10**13}, "price"),
        ({"cost_price": -0.01}, "cost_price"),
        ({"costPrice": "x"}, "cost_price"),
        ({"stock": -1}, "stock"),
        ({"stock": 1.5}, "stock"),
        ({"stock": "many"}, "stock"),
        ({"stock": False}, "stock"),
        ({"stock": 2**31}, "stock"),
        ({"variation": "v" * 256}, "variation"),
        ({"description": "d" * 1001}, "description"),
        ({"lead_time_days": 366}, "lead_time_days"),
        ({"lead_time_days": -1}, "lead_time_days"),
        ({"service_level": 0.4}, "service_level"),
        ({"service_level": 1}, "service_level"),
        ({"unknown_field": 1}, "unknown_field"),
    ],
)
def test_create_rejects_bad_field(user, change, field):
    body = product("VAL-1")
    for key, value in change.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    r = user.post("/api/products", json=body)
    body = assert_error(r, 400, field)
    assert body["error"] == "validation_error"


def test_create_rejects_conflicting_aliases_and_non_objects(user):
    assert_error(user.post("/api/products", json=product(sellingPrice=1)), 400, "sellingPrice")
    assert_error(user.post("/api/products", json=[product()]), 400)
    assert_error(user.post("/api/products", content=b"{oops", headers={"Content-Type": "application/json"}), 400)


def test_boundary_values_are_accepted(user):
    r = user.post(
        "/api/products",
        json=product(
            "a.b_c-9",
            price=0,
            stock=0,
            cost_price=None,
            lead_time_days=365,
            service_level=0.999,
            name="n" * 255,
            description="d" * 1000,
        ),
    )
    assert r.status_code == 201, r.text
    assert r.json()["service_level"] == 0.999
    assert user.get("/api/products/a.b_c-9").status_code == 200


# --- list -------------------------------------------------------------------------


def test_list_is_a_bare_array_newest_first_with_total(user):
    for i in range(3):
        user.post("/api/products", json=product(f"L-{i}", name=f"Item {i}"))
    r = user.get("/api/products")
    assert r.status_code == 200
    items = r.json()
    assert isinstance(items, list)
    assert [p["sku"] for p in items] == ["L-2", "L-1", "L-0"]
    assert r.headers["x-total-count"] == "3"
    assert set(items[0]) == FIELDS


def test_list_paging_search_category_archived(user):
    for sku, name, cat in [
        ("BEV-1", "Air Mineral", "Beverages"),
        ("BEV-2", "Teh 100%", "Beverages"),
        ("SNK-1", "Keripik", "Snacks"),
        ("SNK-2", "Biskuit_Kelapa", "Snacks"),
    ]:
        user.post("/api/products", json=product(sku, name=name, category=cat))
    page = user.get("/api/products", params={"limit": 2, "offset": 1})
    assert [p["sku"] for p in page.json()] == ["SNK-1", "BEV-2"] and page.headers["x-total-count"] == "4"
    assert user.get("/api/products", params={"limit": 2, "offset": 10}).json() == []
    assert user.get("/api/products", params={"limit": 2, "offset": 10}).headers["x-total-count"] == "4"
    assert {p["sku"] for p in user.get("/api/products", params={"search": "bev"}).json()} == {"BEV-1", "BEV-2"}
    assert {p["sku"] for p in user.get("/api/products", params={"search": "kerip"}).json()} == {"SNK-1"}
    assert {p["sku"] for p in user.get("/api/products", params={"search": "snacks"}).json()} == {"SNK-1", "SNK-2"}
    # LIKE wildcards in the search text are literal characters
    assert [p["sku"] for p in user.get("/api/products", params={"search": "100%"}).json()] == ["BEV-2"]
    assert [p["sku"] for p in user.get("/api/products", params={"search": "t_k"}).json()] == ["SNK-2"]
    assert {p["sku"] for p in user.get("/api/products", params={"category": "snacks"}).json()} == {"SNK-1", "SNK-2"}
    user.delete("/api/products/SNK-1", params={"archive": "true"})
    assert "SNK-1" not in {p["sku"] for p in user.get("/api/products").json()}
    assert "SNK-1" in {p["sku"] for p in user.get("/api/products", params={"include_archived": "true"}).json()}


@pytest.mark.parametrize(
    "params, field",
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"include_archived": "maybe"}, "include_archived"),
        ({"search": "s" * 101}, "search"),
    ],
)
def test_list_rejects_bad_query(user, params, field):
    assert_error(user.get("/api/products", params=params), 400, field)


# --- stats and categories -------------------------------------------------------


def test_stats_and_categories(user):
    empty = user.get("/api/products/stats").json()
    assert empty == {"active_products": 0, "low_stock_items": 0, "total_inventory_value": 0}
    user.post("/api/products", json=product("S-1", price="12.50", stock=5, category="Bakery"))
    user.post("/api/products", json=product("S-2", price="3.25", stock=6, category="Dairy"))
    user.post("/api/products", json=product("S-3", price="100", stock=0, category="Bakery"))
    user.post("/api/products", json=product("S-4", price="7", stock=1, category="Toys"))
    user.delete("/api/products/S-4", params={"archive": "true"})
    assert user.get("/api/products/stats").json() == {
        "active_products": 3,
        "low_stock_items": 2,
        "total_inventory_value": 82,
    }  # 62.5 + 19.5 + 0
    assert user.get("/api/products/categories").json() == {"categories": ["Bakery", "Dairy"]}


# --- update ----------------------------------------------------------------------


def test_put_replaces_form_fields_and_keeps_forecast_settings(user):
    user.post(
        "/api/products",
        json=product("P-1", variation="small", description="d", cost_price=1, lead_time_days=7, service_level=0.9),
    )
    r = user.put("/api/products/P-1", json={"name": "New", "category": "Snacks", "price": 9.99, "stock": 4})
    assert r.status_code == 200, r.text
    p = r.json()
    assert (p["name"], p["category"], p["price"], p["stock"]) == ("New", "Snacks", 9.99, 4)
    assert p["variation"] is None and p["description"] is None and p["cost_price"] is None
    assert p["lead_time_days"] == 7 and p["service_level"] == 0.9
    assert p["updated_at"] >= p["created_at"]


def test_put_accepts_a_product_as_returned_by_get(user):
    created = user.post("/api/products", json=product("RT-1")).json()
    created["sellingPrice"] = created["price"] = 6000
    r = user.put("/api/products/RT-1", json=created)
    assert r.status_code == 200, r.text
    assert r.json()["price"] == 6000


def test_put_requires_every_form_field(user):
    user.post("/api/products", json=product("P-2"))
    assert_error(user.put("/api/products/P-2", json={"name": "Only name"}), 400, "category")
    assert_error(user.put("/api/products/P-2", json=product("P-2", stock=-5)), 400, "stock")


def test_put_renames_and_refuses_a_taken_sku(user):
    user.post("/api/products", json=product("OLD-1"))
    user.post("/api/products", json=product("TAKEN-1"))
    assert_error(user.put("/api/products/OLD-1", json=product("TAKEN-1")), 409, "TAKEN-1 already exists")
    r = user.put("/api/products/OLD-1", json=product("NEW-1"))
    assert r.status_code == 200 and r.json()["sku"] == "NEW-1"
    assert user.get("/api/products/OLD-1").status_code == 404
    assert user.get("/api/products/NEW-1").status_code == 200


def test_put_and_patch_of_missing_product_is_404(user):
    assert_error(user.put("/api/products/GHOST-1", json=product("GHOST-1")), 404, "GHOST-1")
    assert_error(user.patch("/api/products/GHOST-1", json={"stock": 1}), 404, "GHOST-1")


def test_patch_changes_only_sent_fields_and_null_clears(user):
    user.post("/api/products", json=product("PT-1", cost_price=2, variation="big"))
    r = user.patch("/api/products/PT-1", json={"stock": 99, "costPrice": None})
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["stock"] == 99 and p["cost_price"] is None and p["variation"] == "big" and p["name"] == "Teh Botol"
    r = user.patch("/api/products/PT-1", json={"sellingPrice": "7.25", "is_archived": True})
    assert r.json()["price"] == 7.25 and r.json()["is_archived"] is True
    assert user.patch("/api/products/PT-1", json={"is_archived": False}).json()["is_archived"] is False


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "at least one field"),
        ({"name": None}, "name"),
        ({"price": None}, "price"),
        ({"stock": -1}, "stock"),
        ({"sku": "x"}, "sku"),
        ({"bogus": 1}, "bogus"),
        ({"service_level": 2}, "service_level"),
    ],
)
def test_patch_rejects_bad_input(user, body, field):
    user.post("/api/products", json=product("PB-1"))
    assert_error(user.patch("/api/products/PB-1", json=body), 400, field)


# --- delete and archive --------------------------------------------------------


def test_delete_returns_json_and_removes(user):
    user.post("/api/products", json=product("D-1"))
    r = user.delete("/api/products/D-1")
    assert r.status_code == 200 and r.json()["message"] == "Product deleted successfully"
    assert user.get("/api/products/D-1").status_code == 404
    assert_error(user.delete("/api/products/D-1"), 404, "D-1")


def test_delete_with_sales_is_409_and_archive_works(user, db):
    user.post("/api/products", json=product("H-1"))
    record_sale(db, user, "H-1")
    body = assert_error(user.delete("/api/products/H-1"), 409, "sales history", "archive=true")
    assert body["error"] == "product_has_sales"
    assert user.get("/api/products/H-1").status_code == 200
    r = user.delete("/api/products/H-1", params={"archive": "true"})
    assert r.status_code == 200 and r.json()["product"]["is_archived"] is True
    assert user.get("/api/products/H-1").json()["is_archived"] is True
    assert_error(user.delete("/api/products/H-1", params={"archive": "perhaps"}), 400, "archive")


# --- tenancy ---------------------------------------------------------------------


def test_other_stores_products_are_invisible(make_user):
    owner, other = make_user(), make_user()
    owner.post("/api/products", json=product("MINE-1", category="Secret"))
    assert_error(other.get("/api/products/MINE-1"), 404, "Product with SKU MINE-1 not found")
    assert_error(other.put("/api/products/MINE-1", json=product("MINE-1", price=1)), 404)
    assert_error(other.patch("/api/products/MINE-1", json={"stock": 0}), 404)
    assert_error(other.delete("/api/products/MINE-1"), 404)
    assert_error(other.delete("/api/products/MINE-1", params={"archive": "true"}), 404)
    assert other.get("/api/products").json() == []
    assert other.get("/api/products", params={"search": "MINE"}).json() == []
    assert other.get("/api/products/stats").json()["active_products"] == 0
    assert other.get("/api/products/categories").json() == {"categories": []}
    # nothing changed for the owner
    p = owner.get("/api/products/MINE-1").json()
    assert p["price"] == 5500 and p["stock"] == 20 and p["is_archived"] is False
