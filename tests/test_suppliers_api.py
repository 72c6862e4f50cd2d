"""/api/suppliers and a product's purchasing fields: CRUD, validation, the
supplier's lead time reaching the products that follow it, store isolation."""

from __future__ import annotations

import pytest

from support_purchasing import assign, supplier
from support_sales import add_product, assert_error, store_of


def test_supplier_crud(user):
    created = supplier(user, "Toko Grosir", 4, contact="Budi", email="budi@grosir.example", phone="+62 21 555")
    sid = created["supplier_id"]
    assert created["lead_time_days"] == 4 and created["email"] == "budi@grosir.example"
    assert [s["supplier_id"] for s in user.get("/api/suppliers").json()] == [sid]
    r = user.patch(f"/api/suppliers/{sid}", json={"notes": "Delivers Mondays", "contact": None})
    assert r.status_code == 200 and r.json()["notes"] == "Delivers Mondays" and r.json()["contact"] is None
    assert user.get(f"/api/suppliers/{sid}").json()["notes"] == "Delivers Mondays"
    assert user.delete(f"/api/suppliers/{sid}").status_code == 200
    assert_error(user.get(f"/api/suppliers/{sid}"), 404, str(sid))


def test_duplicate_name_is_409(user):
    supplier(user, "Same Name")
    assert_error(user.post("/api/suppliers", json={"name": "same name"}), 409, "same name")


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "X", "lead_time_days": 366}, "lead_time_days"),
        ({"name": "X", "lead_time_days": "3"}, "lead_time_days"),
        ({"name": "X", "email": "not-an-email"}, "email"),
        ({"name": "X", "colour": "red"}, "colour"),
    ],
)
def test_bad_supplier_input_names_the_field(shared_user, body, field):
    assert_error(shared_user.post("/api/suppliers", json=body), 400, field)


def test_lead_time_follows_the_supplier_until_the_product_overrides_it(user, db):
    store = store_of(db, user)
    add_product(db, store, "LT-1")
    sid = supplier(user, "Lead Co", 5)["supplier_id"]
    got = assign(user, "LT-1", sid, supplier_sku="LC-001", pack_size=6)
    assert got["lead_time_days"] == 5 and got["lead_time_from_supplier"] is True
    assert got["supplier_sku"] == "LC-001" and got["pack_size"] == 6
    assert user.patch(f"/api/suppliers/{sid}", json={"lead_time_days": 7}).status_code == 200
    assert user.get("/api/products/LT-1").json()["lead_time_days"] == 7
    # The product's own lead time (through the products API) wins from now on.
    assert user.patch("/api/products/LT-1", json={"lead_time_days": 3}).status_code == 200
    assert user.patch(f"/api/suppliers/{sid}", json={"lead_time_days": 9}).status_code == 200
    after = user.get("/api/products/LT-1/purchasing").json()
    assert after["lead_time_days"] == 3 and after["lead_time_from_supplier"] is False
    # null follows the supplier again.
    r = user.patch("/api/products/LT-1/purchasing", json={"lead_time_days": None})
    assert r.json()["lead_time_days"] == 9 and r.json()["lead_time_from_supplier"] is True


def test_supplier_with_orders_cannot_be_deleted(user, db):
    store = store_of(db, user)
    p = add_product(db, store, "DEL-1")
    sid = supplier(user, "Has Orders")["supplier_id"]
    with db.cursor() as cur:
        cur.execute("INSERT INTO purchase_orders (store_id, supplier_id) VALUES (%s, %s)", (store, sid))
    assert p["sku"] == "DEL-1"
    assert_error(user.delete(f"/api/suppliers/{sid}"), 409, "purchase orders")


def test_another_stores_supplier_is_404(user, make_user, db):
    sid = supplier(user, "Mine")["supplier_id"]
    other = make_user()
    add_product(db, store_of(db, other), "OTHER-1")
    for r in (
        other.get(f"/api/suppliers/{sid}"),
        other.patch(f"/api/suppliers/{sid}", json={"notes": "x"}),
        other.delete(f"/api/suppliers/{sid}"),
        other.patch("/api/products/OTHER-1/purchasing", json={"supplier_id": sid}),
    ):
        assert_error(r, 404, str(sid))
    assert other.get("/api/suppliers").json() == []
    assert user.get(f"/api/suppliers/{sid}").status_code == 200
    assert_error(other.get("/api/products/NOPE-1/purchasing"), 404, "NOPE-1")
    add_product(db, store_of(db, user), "MINE-1")
    assert_error(other.get("/api/products/MINE-1/purchasing"), 404, "MINE-1")
    assert_error(other.patch("/api/products/MINE-1/purchasing", json={"pack_size": 2}), 404, "MINE-1")
    assert user.get("/api/products/MINE-1/purchasing").json()["pack_size"] == 1
