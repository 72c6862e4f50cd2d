"""Members, roles and invitations: an owner invites a manager and a cashier;
each can do exactly what the role table (siprems/api/access.py) says, for
every route of the OpenAPI document; role changes and removals reach tokens
already issued within seconds; invitations are single use and expire."""

from __future__ import annotations

import re
import time
import uuid

import httpx
import pytest

from siprems.api import access
from support_users import User

RANK = {"cashier": 1, "manager": 2, "owner": 3}
DUMMY_PATH_VALUES = {
    "sku": "NO-SUCH-SKU",
    "user_id": "999999999",
    "invitation_id": "999999999",
    "transaction_id": "999999999",
    "event_id": "999999999",
    "task_id": "no-such-task",
    "session_id": "no-such-session",
    "supplier_id": "999999999",
    "po_id": "999999999",
    "webhook_id": "999999999",
}
SKIPPED_IN_WALK = {"POST /api/auth/logout"}  # would end the walking user's session


def invite(owner: User, role: str, email: str | None = None) -> tuple[str, str]:
    email = email or f"{role}-{uuid.uuid4().hex[:10]}@example.com"
    r = owner.post("/api/team/invitations", json={"email": email, "role": role})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "pending" and body["role"] == role and len(body["token"]) >= 32
    return email, body["token"]


def join(base_url: str, email: str, token: str, password: str = "Quiet-Harbor-42") -> User:
    with httpx.Client(base_url=base_url, timeout=30) as c:
        r = c.post(
            "/api/auth/register",
            json={"email": email, "password": password, "full_name": "Staff Member", "invitation_token": token},
        )
        assert r.status_code == 201, r.text
        r = c.post("/api/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
    return User(base_url, email, password, r.json())


def login(base_url: str, user: User) -> httpx.Response:
    with httpx.Client(base_url=base_url, timeout=30) as c:
        return c.post("/api/auth/login", json={"email": user.email, "password": user.password})


def wait_for_status(request, status: int, seconds: float = 5.0) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    r = request()
    while r.status_code != status and time.monotonic() - started < seconds:
        time.sleep(0.1)
        r = request()
    return r, time.monotonic() - started


@pytest.fixture(scope="module")
def team(base_url):
    from support_users import register

    owner = register(base_url, prefix="owner", full_name="Shop Owner")
    manager = join(base_url, *invite(owner, "manager"))
    cashier = join(base_url, *invite(owner, "cashier"))
    yield {"owner": owner, "manager": manager, "cashier": cashier}
    for u in (owner, manager, cashier):
        u.client.close()


def openapi_routes(client) -> list[str]:
    doc = client.get("/docs/openapi.json").json()
    return sorted(f"{method.upper()} {path}" for path, ops in doc["paths"].items() for method in ops)


def test_every_route_of_the_openapi_document_is_classified(client):
    routes = set(openapi_routes(client))
    assert routes - set(access.ROUTE_ROLES) == set(), "unclassified routes: add them to siprems/api/access.py"
    assert set(access.ROUTE_ROLES) - routes == set(), "the table names routes that do not exist"


def test_readme_role_table_is_the_table(client):
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert access.markdown_table() in readme, "README role table is stale: python -m siprems.api.access"


def test_members_are_listed_with_roles_and_joined_the_owners_store(team, db):
    r = team["owner"].get("/api/team/members")
    assert r.status_code == 200, r.text
    roles = {m["email"]: m["role"] for m in r.json()}
    assert roles == {team["owner"].email: "owner", team["manager"].email: "manager", team["cashier"].email: "cashier"}
    with db.cursor() as cur:
        cur.execute(
            "SELECT count(DISTINCT store_id) AS n FROM users WHERE user_id = ANY(%s)",
            ([u.user_id for u in team.values()],),
        )
        assert cur.fetchone()["n"] == 1  # no store of their own for invited members
    profile = team["cashier"].get("/api/auth/profile").json()
    assert (
        profile["role"] == "cashier"
        and profile["store_id"] == team["owner"].get("/api/auth/profile").json()["store_id"]
    )


def test_every_route_answers_each_role_as_the_table_says(team, client):
    walked, wrong = 0, []
    for route in openapi_routes(client):
        needed = access.ROUTE_ROLES[route]
        if needed == access.PUBLIC or route in SKIPPED_IN_WALK:
            continue
        method, path = route.split(" ", 1)
        url = re.sub(r"\{(\w+)\}", lambda m: DUMMY_PATH_VALUES[m.group(1)], path)
        for role, user in team.items():
            r = user.client.request(method, url, json={} if method in ("POST", "PUT", "PATCH") else None)
            allowed = needed == access.MEMBER or RANK[role] >= RANK[needed]
            walked += 1
            if r.status_code >= 500 or (allowed and r.status_code in (401, 403)):
                wrong.append((route, role, r.status_code, r.text[:200]))
            elif not allowed:
                body = r.json()
                if r.status_code != 403 or body.get("required_role") != needed or needed not in body["message"]:
                    wrong.append((route, role, r.status_code, r.text[:200]))
    assert wrong == []
    assert walked > 150


def test_invitations_are_single_use_expire_and_can_be_withdrawn(team, base_url, db, client):
    owner = team["owner"]
    email, token = invite(owner, "cashier")
    body = {"email": email, "password": "Quiet-Harbor-42", "full_name": "Someone", "invitation_token": token}
    wrong = client.post("/api/auth/register", json={**body, "email": f"x-{email}"})
    assert wrong.status_code == 403 and wrong.json()["error"] == "invitation_email_mismatch"
    assert client.post("/api/auth/register", json=body).status_code == 201
    again = client.post("/api/auth/register", json={**body, "email": f"y-{email}"})
    assert again.status_code == 409 and again.json()["error"] == "invitation_used"
    email2, token2 = invite(owner, "manager")
    used = client.post("/api/auth/register", json={**body, "invitation_token": token})
    assert used.status_code == 409 and used.json()["error"] == "invitation_used"
    with db.cursor() as cur:
        cur.execute("UPDATE invitations SET expires_at = now() - interval '1 second' WHERE email = %s", (email2,))
    expired = client.post("/api/auth/register", json={**body, "email": email2, "invitation_token": token2})
    assert expired.status_code == 410 and expired.json()["error"] == "invitation_expired"
    email3, token3 = invite(owner, "cashier")
    listed = owner.get("/api/team/invitations").json()
    pending = [i for i in listed if i["email"] == email3]
    assert len(pending) == 1 and pending[0]["status"] == "pending" and "token" not in pending[0]
    assert any(i["email"] == email2 and i["status"] == "expired" for i in listed)
    r = owner.delete(f"/api/team/invitations/{pending[0]['invitation_id']}")
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    withdrawn = client.post("/api/auth/register", json={**body, "email": email3, "invitation_token": token3})
    assert withdrawn.status_code == 409 and withdrawn.json()["error"] == "invitation_revoked"
    bogus = client.post("/api/auth/register", json={**body, "email": email3, "invitation_token": "nope"})
    assert bogus.status_code == 404 and bogus.json()["error"] == "invitation_not_found"
    closed = owner.get("/api/team/invitations", params={"include_closed": "true"}).json()
    assert {i["status"] for i in closed} >= {"accepted", "revoked", "expired"}


def test_an_invitation_of_another_store_cannot_be_withdrawn_by_it(team, make_user):
    owner = team["owner"]
    invite(owner, "cashier")
    invitation_id = owner.get("/api/team/invitations").json()[0]["invitation_id"]
    stranger = make_user()
    assert stranger.delete(f"/api/team/invitations/{invitation_id}").status_code == 404
    assert stranger.patch(f"/api/team/members/{team['cashier'].user_id}", json={"role": "owner"}).status_code == 404


def test_an_existing_user_accepts_an_invitation_and_works_in_that_store(team, make_user):
    owner = team["owner"]
    other = make_user()
    _, token = invite(owner, "manager", other.email)
    r = other.post("/api/team/invitations/accept", json={"token": token})
    assert r.status_code == 200, r.text
    joined = r.json()
    assert joined["role"] == "manager"
    staff = httpx.Client(
        base_url=str(other.client.base_url), headers={"Authorization": f"Bearer {joined['access_token']}"}
    )
    sku = f"ACC-{uuid.uuid4().hex[:6]}"
    created = staff.post(
        "/api/products", json={"sku": sku, "name": "Teh", "category": "Drinks", "price": 5000, "stock": 3}
    )
    assert created.status_code == 201, created.text
    assert owner.get(f"/api/products/{sku}").status_code == 200  # in the owner's store
    assert staff.get("/api/team/members").status_code == 403
    assert other.post("/api/team/invitations/accept", json={"token": token}).json()["error"] == "invitation_used"
    staff.close()


def test_a_removed_member_loses_access_within_seconds(team, base_url):
    owner = team["owner"]
    cashier = join(base_url, *invite(owner, "cashier"))
    assert cashier.get("/api/products").status_code == 200
    r = owner.delete(f"/api/team/members/{cashier.user_id}")
    assert r.status_code == 200, r.text
    r, waited = wait_for_status(lambda: cashier.get("/api/products"), 401)
    assert r.status_code == 401 and r.json()["error"] == "token_revoked" and waited < 3, (r.text, waited)
    with httpx.Client(base_url=base_url, timeout=30) as c:
        assert c.post("/api/auth/refresh", json={"refresh_token": cashier.refresh_token}).status_code == 401
    r = login(base_url, cashier)
    assert r.status_code == 403 and r.json()["error"] == "not_a_member"
    assert cashier.user_id not in {m["user_id"] for m in owner.get("/api/team/members").json()}


def test_a_role_change_reaches_issued_tokens_and_the_refresh_carries_the_new_role(team, base_url):
    owner = team["owner"]
    manager = join(base_url, *invite(owner, "manager"))
    assert manager.get("/api/dashboard/metrics").status_code == 200
    r = owner.patch(f"/api/team/members/{manager.user_id}", json={"role": "cashier"})
    assert r.status_code == 200 and r.json()["role"] == "cashier"
    r, waited = wait_for_status(lambda: manager.get("/api/dashboard/metrics"), 401)
    assert r.status_code == 401 and waited < 3, (r.text, waited)
    with httpx.Client(base_url=base_url, timeout=30) as c:
        refreshed = c.post("/api/auth/refresh", json={"refresh_token": manager.refresh_token})
    assert refreshed.status_code == 200, refreshed.text
    headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    with httpx.Client(base_url=base_url, timeout=30, headers=headers) as c:
        denied = c.get("/api/dashboard/metrics")
        assert denied.status_code == 403 and denied.json()["required_role"] == "manager"
        assert c.get("/api/products").status_code == 200


def test_the_store_keeps_an_owner(team):
    owner = team["owner"]
    r = owner.patch(f"/api/team/members/{owner.user_id}", json={"role": "manager"})
    assert r.status_code == 409 and r.json()["error"] == "last_owner"
    r = owner.delete(f"/api/team/members/{owner.user_id}")
    assert r.status_code == 409 and r.json()["error"] == "last_owner"
    r = owner.patch(f"/api/team/members/{owner.user_id}", json={"role": "boss"})
    assert r.status_code == 400 and "role" in r.json()["message"]
    r = owner.post("/api/team/invitations", json={"email": "not-an-email", "role": "cashier"})
    assert r.status_code == 400 and "email" in r.json()["message"]


def test_a_cashier_sees_only_their_own_sales_of_today(team):
    owner, cashier = team["owner"], team["cashier"]
    sku = f"OWN-{uuid.uuid4().hex[:6]}"
    r = owner.post("/api/products", json={"sku": sku, "name": "Kopi", "category": "Drinks", "price": 8000, "stock": 9})
    assert r.status_code == 201
    mine = cashier.post("/api/transactions", json={"product_sku": sku, "quantity": 1})
    theirs = owner.post("/api/transactions", json={"product_sku": sku, "quantity": 2})
    past = owner.post(
        "/api/transactions", json={"product_sku": sku, "quantity": 1, "transaction_date": "2024-01-02T10:00:00"}
    )
    assert mine.status_code == theirs.status_code == past.status_code == 201
    seen = {row["transaction_id"] for row in cashier.get("/api/transactions", params={"limit": 1000}).json()}
    assert mine.json()["transaction_id"] in seen
    assert theirs.json()["transaction_id"] not in seen and past.json()["transaction_id"] not in seen
    assert cashier.get(f"/api/transactions/{theirs.json()['transaction_id']}").status_code == 404
    assert cashier.get(f"/api/transactions/{mine.json()['transaction_id']}").status_code == 200
    owner_sees = {row["transaction_id"] for row in owner.get("/api/transactions", params={"limit": 1000}).json()}
    assert {mine.json()["transaction_id"], theirs.json()["transaction_id"]} <= owner_sees
    assert cashier.patch(f"/api/products/{sku}", json={"price": 1}).status_code == 403
    assert (
        cashier.post("/api/stock/adjustments", json={"product_sku": sku, "delta": 5, "reason": "x"}).status_code == 403
    )


def test_the_assistant_answers_a_cashier_only_what_a_cashier_may_see(team):
    owner, cashier = team["owner"], team["cashier"]
    for question in ("What is today's revenue?", "Best sellers this week?", "Produk terlaris bulan ini apa?"):
        denied = cashier.post("/api/chat", json={"message": question})
        assert denied.status_code == 200, denied.text
        text = denied.json()["content"]
        assert "manager" in text.lower() or "manajer" in text.lower(), (question, text)
        answered = owner.post("/api/chat", json={"message": question}).json()["content"]
        assert "manager" not in answered.lower() and "manajer" not in answered.lower(), (question, answered)
    stock = cashier.post("/api/chat", json={"message": "Which products are low on stock?"}).json()["content"]
    assert "manager" not in stock.lower()
    legacy = cashier.post("/chat", json={"message": "What is today's revenue?"})
    assert legacy.status_code == 200 and "manager" in legacy.json()["content"].lower()
