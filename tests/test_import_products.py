"""`POST /api/products/import`: JSON or CSV, validated in full first (errors
name row and field), written atomically, upsert by SKU by default."""

from __future__ import annotations

import pytest

from test_products_api import assert_error, product


def csv_body(*lines: str) -> dict:
    return {"content": ("\n".join(lines) + "\n").encode(), "headers": {"Content-Type": "text/csv"}}


def skus(user) -> set[str]:
    return {p["sku"] for p in user.get("/api/products", params={"include_archived": "true"}).json()}


def test_json_import_creates_products(user):
    rows = [
        product("I-1"),
        {
            "id": "I-2",
            "name": "Mouse",
            "category": "Electronics",
            "sellingPrice": 24.99,
            "costPrice": 12.5,
            "stock": 4,
            "description": "wireless",
        },
    ]
    r = user.post("/api/products/import", json={"products": rows})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body.pop("import_id")  # the reference of its stock movements
    assert body == {"received": 2, "created": 2, "updated": 0, "mode": "upsert"}
    p = user.get("/api/products/I-2").json()
    assert (p["price"], p["cost_price"], p["description"], p["lead_time_days"]) == (24.99, 12.5, "wireless", 2)


def test_csv_import_with_aliases_quotes_bom_and_blank_lines(user):
    body = csv_body(
        "\ufeffSKU,Name,category,sellingPrice,costPrice,stock,description",
        'C-1,"Kopi, susu",Beverages,8500,6000,60,"say ""hi"""',
        "",
        "C-2,Roti,Bakery,16000.50,,0,",
    )
    r = user.post("/api/products/import", **body)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 2
    c1 = user.get("/api/products/C-1").json()
    assert c1["name"] == "Kopi, susu" and c1["description"] == 'say "hi"' and c1["price"] == 8500
    c2 = user.get("/api/products/C-2").json()
    assert c2["cost_price"] is None and c2["description"] is None and c2["price"] == 16000.5


def test_upsert_replaces_like_put_and_keeps_forecast_settings(user):
    user.post("/api/products", json=product("U-1", description="old", lead_time_days=9, variation="v"))
    rows = [product("U-1", name="Renamed", stock=7), product("U-2")]
    r = user.post("/api/products/import", json={"products": rows})
    assert {k: v for k, v in r.json().items() if k != "import_id"} == {
        "received": 2,
        "created": 1,
        "updated": 1,
        "mode": "upsert",
    }
    u1 = user.get("/api/products/U-1").json()
    assert (u1["name"], u1["stock"], u1["description"], u1["variation"], u1["lead_time_days"]) == (
        "Renamed",
        7,
        None,
        None,
        9,
    )


def test_create_mode_refuses_existing_skus_and_writes_nothing(user):
    user.post("/api/products", json=product("E-1"))
    r = user.post(
        "/api/products/import",
        params={"mode": "create"},
        json={"products": [product("NEW-1"), product("E-1", name="changed")]},
    )
    body = assert_error(r, 409, "E-1", "nothing was imported")
    assert body["details"][0] == {"row": 2, "field": "sku", "message": "Product with SKU E-1 already exists"}
    assert "NEW-1" not in skus(user)
    assert user.get("/api/products/E-1").json()["name"] == "Teh Botol"
    ok = user.post("/api/products/import", params={"mode": "create"}, json={"products": [product("NEW-1")]})
    assert ok.status_code == 200 and ok.json()["created"] == 1


def test_duplicate_sku_within_an_import_is_rejected(user):
    r = user.post("/api/products/import", json={"products": [product("D-1"), product("D-2"), product("D-1")]})
    body = assert_error(r, 400, "Row 3", "sku", "row 1")
    assert body["details"] == [{"row": 3, "field": "sku", "message": "repeats SKU D-1 of row 1"}]
    assert skus(user) == set()


def test_errors_name_row_and_field_cap_at_20_and_write_nothing(user):
    rows = [product(f"OK-{i}") for i in range(10)]
    rows[3]["price"] = -1
    rows[7].pop("name")
    rows += [product(f"BAD-{i}", stock="lots") for i in range(30)]
    r = user.post("/api/products/import", json={"products": rows})
    body = assert_error(r, 400, "Row 4", "price", "Nothing was imported")
    assert body["error_count"] == 32 and len(body["details"]) == 20
    assert body["details"][0] == {"row": 4, "field": "price", "message": "must be greater than or equal to 0"}
    assert body["details"][1] == {"row": 8, "field": "name", "message": "is required"}
    assert body["details"][2]["row"] == 11 and body["details"][2]["field"] == "stock"
    assert skus(user) == set()


def test_csv_errors_give_row_and_line(user):
    r = user.post(
        "/api/products/import", **csv_body("sku,name,category,price,stock", "", "A-100,a,b,1,1", "A-101,a,b,-5,1")
    )
    body = assert_error(r, 400, "Row 2", "price")
    assert body["details"] == [{"row": 2, "line": 4, "field": "price", "message": "must be greater than or equal to 0"}]


@pytest.mark.parametrize(
    "rows, words",
    [
        ([product("X-1", bogus=1)], ("Row 1", "bogus")),
        ([product("stats")], ("Row 1", "sku", "reserved")),
        ([product("X-1", price=True)], ("price", "boolean")),
        ([product("X-1", price="1.234")], ("price", "2 decimal places")),
        ([product("X-1", sellingPrice=1)], ("Row 1", "sellingPrice")),
        ([42], ("Row 1", "object")),
        ([product("X-1", service_level=1.5)], ("service_level",)),
    ],
)
def test_bad_rows(user, rows, words):
    assert_error(user.post("/api/products/import", json={"products": rows}), 400, *words)


@pytest.mark.parametrize(
    "kwargs, status, words",
    [
        ({"json": {"products": []}}, 400, ("No rows",)),
        ({"json": {"items": []}}, 400, ("products",)),
        ({"json": {"products": [], "extra": 1}}, 400, ("extra",)),
        ({"json": {"products": {"sku": "x"}}}, 400, ("array",)),
        ({"json": "products"}, 400, ("array",)),
        ({"content": b""}, 400, ("empty",)),
        ({"content": b"{nope", "headers": {"Content-Type": "application/json"}}, 400, ("JSON",)),
        (csv_body("sku,name,category,price,stock", 'A-1,"unterminated,b,1,1'), 400, ("CSV",)),
        (csv_body("sku,name,category,price,stock", "A-1,a,b,1"), 400, ("line 2", "4 fields")),
        (csv_body("sku,name,colour,price,stock"), 400, ("colour",)),
        (csv_body("sku,name,category,price,stock,SKU"), 400, ("twice",)),
        (csv_body(""), 400, ("empty",)),
        (csv_body("sku,name,category,price,stock"), 400, ("No rows",)),
        ({"content": "sku,name\n\xe9\n".encode("latin-1"), "headers": {"Content-Type": "text/csv"}}, 400, ("UTF-8",)),
    ],
)
def test_malformed_bodies(user, kwargs, status, words):
    assert_error(user.post("/api/products/import", **kwargs), status, *words)
    assert skus(user) == set()


def test_bad_mode_and_auth(user, client):
    assert_error(
        user.post("/api/products/import", params={"mode": "merge"}, json={"products": [product()]}), 400, "mode"
    )
    assert_error(client.post("/api/products/import", json={"products": [product()]}), 401)


def test_more_than_100000_rows_is_413(user):
    lines = ["sku,name,category,price,stock"] + [f"R-{i},n,c,1,1" for i in range(100_001)]
    body = assert_error(user.post("/api/products/import", **csv_body(*lines)), 413, "100000")
    assert body["error"] == "too_many_rows"
    rows = [{"sku": f"R-{i}", "name": "n", "category": "c", "price": 1, "stock": 1} for i in range(100_001)]
    assert_error(user.post("/api/products/import", json={"products": rows}), 413, "100000")
    assert skus(user) == set()


def test_import_is_scoped_to_the_callers_store(make_user):
    a, b = make_user(), make_user()
    b.post("/api/products", json=product("SAME-1", name="B's"))
    r = a.post("/api/products/import", json={"products": [product("SAME-1", name="A's")]})
    assert r.json()["created"] == 1  # not an update of B's product
    assert b.get("/api/products/SAME-1").json()["name"] == "B's"
    assert a.get("/api/products/SAME-1").json()["name"] == "A's"
    r = a.post("/api/products/import", params={"mode": "create"}, json={"products": [product("ONLY-B")]})
    assert r.status_code == 200


def test_import_invalidates_the_cached_list(user):
    assert user.get("/api/products").json() == []
    assert user.get("/api/products/stats").json()["active_products"] == 0
    user.post("/api/products/import", **csv_body("sku,name,category,price,stock", "Z-1,z,Zed,2.5,4"))
    assert [p["sku"] for p in user.get("/api/products").json()] == ["Z-1"]
    assert user.get("/api/products/stats").json() == {
        "active_products": 1,
        "low_stock_items": 1,
        "total_inventory_value": 10,
    }
    assert user.get("/api/products/categories").json() == {"categories": ["Zed"]}


def test_csv_of_exported_products_round_trips(user):
    import csv
    import io

    user.post("/api/products", json=product("EX-1", cost_price=1.5, variation="red", lead_time_days=4))
    user.post("/api/products", json=product("EX-2", description="plain"))
    exported = user.get("/api/products").json()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(exported[0]))
    writer.writeheader()
    for row in exported:
        writer.writerow({**row, "stock": row["stock"] + 1})
    r = user.post("/api/products/import", content=out.getvalue().encode(), headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    assert r.json()["updated"] == 2 and r.json()["created"] == 0
    again = {p["sku"]: p for p in user.get("/api/products").json()}
    for before in exported:
        after = again[before["sku"]]
        assert after["stock"] == before["stock"] + 1
        for field in ("name", "price", "cost_price", "variation", "description", "lead_time_days", "service_level"):
            assert after[field] == before[field], field


def test_body_format_is_sniffed_for_other_content_types(user):
    import orjson

    r = user.post(
        "/api/products/import",
        content=orjson.dumps({"products": [product("SN-1")]}),
        headers={"Content-Type": "text/plain;charset=UTF-8"},
    )
    assert r.status_code == 200, r.text
    r = user.post(
        "/api/products/import",
        content=b"sku,name,category,price,stock\nSN-2,a,b,1,1\n",
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 200, r.text
    assert skus(user) == {"SN-1", "SN-2"}
