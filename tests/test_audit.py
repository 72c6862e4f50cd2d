"""The audit trail: changes to products, settings, events and the team are
recorded with who, when, before and after; owners and managers read it;
nothing can alter it (no route, and the database refuses)."""

from __future__ import annotations

import uuid

import psycopg2
import pytest

from support_users import register
from test_team_roles import invite, join


@pytest.fixture(scope="module")
def shop(base_url):
    owner = register(base_url, prefix="audit-owner")
    manager = join(base_url, *invite(owner, "manager"))
    cashier = join(base_url, *invite(owner, "cashier"))
    yield owner, manager, cashier
    for u in (owner, manager, cashier):
        u.client.close()


def entries(user, **params) -> list[dict]:
    r = user.get("/api/audit", params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_a_price_change_is_recorded_with_before_and_after(shop):
    owner, manager, _ = shop
    sku = f"AUD-{uuid.uuid4().hex[:6]}"
    r = owner.post("/api/products", json={"sku": sku, "name": "Roti", "category": "Bakery", "price": 10000, "stock": 4})
    assert r.status_code == 201
    assert manager.patch(f"/api/products/{sku}", json={"price": 12500}).status_code == 200
    assert manager.delete(f"/api/products/{sku}", params={"archive": "true"}).status_code == 200
    found = entries(owner, entity="product", entity_id=sku)
    assert [e["action"] for e in found] == ["archive", "update", "create"]
    archive, update, create = found
    assert update["before"] == {"product_id": r.json()["product_id"], "sku": sku, "price": 10000}
    assert update["after"] == {"product_id": r.json()["product_id"], "sku": sku, "price": 12500}
    assert update["user_email"] == manager.email and update["user_id"] == manager.user_id
    assert archive["before"]["is_archived"] is False and archive["after"]["is_archived"] is True
    assert create["before"] is None and create["after"]["price"] == 10000 and create["user_id"] == owner.user_id
    sku2 = f"DEL-{uuid.uuid4().hex[:6]}"
    owner.post("/api/products", json={"sku": sku2, "name": "Susu", "category": "Dairy", "price": 7000, "stock": 1})
    assert owner.delete(f"/api/products/{sku2}").status_code == 200
    deleted = entries(manager, entity="product", entity_id=sku2)[0]
    assert deleted["action"] == "delete" and deleted["after"] is None and deleted["before"]["name"] == "Susu"


def test_settings_events_and_team_changes_are_recorded(shop):
    owner, manager, cashier = shop
    r = manager.put("/api/settings/store", json={"name": "Toko Audit"})
    assert r.status_code == 200, r.text
    setting = entries(owner, entity="settings")[0]
    assert setting["after"]["store"] == {"name": "Toko Audit"} and setting["user_id"] == manager.user_id
    r = manager.post("/api/events", json={"name": "Promo", "date": "2026-09-01", "type": "promotion"})
    assert r.status_code == 201, r.text
    event_id = r.json()["id"] if "id" in r.json() else r.json()["event_id"]
    manager.put(
        f"/api/events/{event_id}", json={"name": "Promo besar", "date": "2026-09-01", "type": "promotion"}
    ).raise_for_status()
    manager.delete(f"/api/events/{event_id}").raise_for_status()
    actions = [(e["action"], e["entity_id"]) for e in entries(owner, entity="event")]
    assert actions[:3] == [("delete", str(event_id)), ("update", str(event_id)), ("create", str(event_id))]
    renamed = entries(owner, entity="event")[1]
    assert renamed["before"] == {"event_name": "Promo"} and renamed["after"] == {"event_name": "Promo besar"}
    owner.patch(f"/api/team/members/{cashier.user_id}", json={"role": "manager"}).raise_for_status()
    owner.patch(f"/api/team/members/{cashier.user_id}", json={"role": "cashier"}).raise_for_status()
    team = entries(owner, entity="member", entity_id=str(cashier.user_id))
    assert [e["action"] for e in team] == ["role_change", "role_change", "join"]
    assert team[1]["before"]["role"] == "cashier" and team[1]["after"]["role"] == "manager"
    assert entries(owner, entity="invitation")[0]["action"] == "create"


def test_only_owners_and_managers_read_it_and_filters_are_checked(shop, make_user):
    owner, _, cashier = shop
    from test_team_roles import wait_for_status

    r, _ = wait_for_status(lambda: cashier.get("/api/audit"), 403)  # the role test may have just changed tokens
    assert r.status_code in (401, 403)
    assert owner.get("/api/audit", params={"entity": "nothing"}).status_code == 400
    assert owner.get("/api/audit", params={"from": "2026-02-02", "to": "2026-02-01"}).status_code == 400
    assert entries(owner, **{"from": "2000-01-01", "to": "2000-01-02"}) == []
    page = owner.get("/api/audit", params={"limit": 2, "offset": 1}).json()
    assert len(page["items"]) == 2 and page["total"] >= 4
    assert entries(make_user()) == []  # another store sees none of it


def test_the_trail_cannot_be_altered(shop, stack):
    owner, _, _ = shop
    for method in ("PUT", "PATCH", "DELETE"):
        assert owner.client.request(method, "/api/audit").status_code in (404, 405)
    conn = psycopg2.connect(stack.direct_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for sql in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
                with pytest.raises(psycopg2.Error, match="append-only"):
                    cur.execute(sql)
    finally:
        conn.close()
