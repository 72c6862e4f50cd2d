"""Auth: register, login, refresh rotation and reuse detection, profile,
change-password, logout, and token tampering."""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest


def _email():
    return f"auth-{uuid.uuid4().hex[:10]}@example.com"


def _register(client, email, password="Quiet-Harbor-42", full_name="Ani Owner"):
    return client.post("/api/auth/register", json={"email": email, "password": password, "full_name": full_name})


def test_register_and_login_shape(client):
    email = _email()
    r = _register(client, email)
    assert r.status_code == 201
    body = r.json()
    assert body["message"] == "Registration successful"
    assert body["user"]["email"] == email and body["user"]["full_name"] == "Ani Owner"
    r = client.post("/api/auth/login", json={"email": email, "password": "Quiet-Harbor-42"})
    assert r.status_code == 200
    login = r.json()
    for field in ("user_id", "email", "full_name", "access_token", "refresh_token"):
        assert field in login
    assert isinstance(login["user_id"], int)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"password": "Quiet-Harbor-42", "full_name": "Ani"}, "email"),
        ({"email": "not-an-email", "password": "Quiet-Harbor-42", "full_name": "Ani"}, "email"),
        ({"email": "a@b.co", "password": "short1A", "full_name": "Ani"}, "password"),
        ({"email": "a@b.co", "password": "Quiet-Harbor-42", "full_name": "A"}, "full_name"),
        ({"email": "a@b.co", "password": "Quiet-Harbor-42", "full_name": "Ani", "role": "admin"}, "role"),
        ({"email": 5, "password": "Quiet-Harbor-42", "full_name": "Ani"}, "email"),
    ],
)
def test_register_validation_names_the_field(client, body, field):
    r = client.post("/api/auth/register", json=body)
    assert r.status_code == 400
    assert field in r.json()["message"]


@pytest.mark.parametrize("password, words", [("alllower1", "uppercase"), ("NoDigitsHere", "digit")])
def test_password_strength(client, password, words):
    r = _register(client, _email(), password=password)
    assert r.status_code == 400
    assert words in r.json()["message"]


def test_register_body_must_be_an_object(client):
    r = client.post("/api/auth/register", json=["x"])
    assert r.status_code == 400 and r.json()["error"] == "validation_error"


def test_duplicate_email_case_insensitive(client):
    email = _email()
    assert _register(client, email).status_code == 201
    r = _register(client, email.upper())
    assert r.status_code == 400
    assert r.json()["message"] == "Email already in use"


def test_wrong_password_and_unknown_user_look_the_same(client):
    email = _email()
    _register(client, email)
    a = client.post("/api/auth/login", json={"email": email, "password": "Wrong1234"})
    b = client.post("/api/auth/login", json={"email": _email(), "password": "Wrong1234"})
    assert a.status_code == b.status_code == 401
    assert a.json() == b.json()


def test_profile_requires_valid_token(client, user):
    assert client.get("/api/auth/profile").status_code == 401
    r = user.get("/api/auth/profile")
    assert r.status_code == 200
    assert r.json()["email"] == user.email and r.json()["is_active"] is True


def _forge(token: str, **changes) -> str:
    header, payload, sig = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=="))
    data.update(changes)
    new = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{header}.{new}.{sig}"


def test_tampered_alg_none_expired_and_wrong_type_tokens_are_401(client, user, stack):
    cases = {
        "tampered": _forge(user.access_token, store_id=999999),
        "alg_none": jwt.encode(
            {
                "sub": "1",
                "user_id": 1,
                "store_id": 1,
                "type": "access",
                "iat": int(time.time()),
                "exp": int(time.time()) + 60,
            },
            key=None,
            algorithm="none",
        ),
        "expired": jwt.encode(
            {
                "sub": "1",
                "user_id": user.user_id,
                "store_id": 1,
                "type": "access",
                "iat": int(time.time()) - 100,
                "exp": int(time.time()) - 10,
            },
            stack.jwt_secret,
            algorithm="HS256",
        ),
        "refresh_as_access": user.refresh_token,
        "garbage": "abc.def.ghi",
    }
    for name, token in cases.items():
        r = client.get("/api/auth/profile", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, name
        assert isinstance(r.json()["message"], str)


def test_refresh_rotates_and_reuse_revokes_family(client, user):
    r1 = client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token})
    assert r1.status_code == 200
    pair = r1.json()
    assert pair["access_token"] and pair["refresh_token"] != user.refresh_token
    assert (
        client.get("/api/auth/profile", headers={"Authorization": f"Bearer {pair['access_token']}"}).status_code == 200
    )
    # The old token again: reuse detected, and the whole family is revoked.
    again = client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token})
    assert again.status_code == 401
    assert client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401


def test_access_token_is_not_a_refresh_token(client, user):
    r = client.post("/api/auth/refresh", json={"refresh_token": user.access_token})
    assert r.status_code == 401


def test_logout_revokes_refresh_token(client, user):
    r = user.post("/api/auth/logout", json={"refresh_token": user.refresh_token})
    assert r.status_code == 200 and r.json()["message"] == "Logout successful"
    assert client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token}).status_code == 401


def test_change_password_revokes_other_sessions(client, user):
    other = client.post("/api/auth/login", json={"email": user.email, "password": user.password}).json()
    r = user.post("/api/auth/change-password", json={"old_password": user.password, "new_password": "Amber-Lantern-93"})
    assert r.status_code == 200
    assert r.json()["refresh_token"]
    # The other session's refresh token no longer works; the new pair does.
    assert client.post("/api/auth/refresh", json={"refresh_token": other["refresh_token"]}).status_code == 401
    assert client.post("/api/auth/refresh", json={"refresh_token": r.json()["refresh_token"]}).status_code == 200
    assert client.post("/api/auth/login", json={"email": user.email, "password": user.password}).status_code == 401
    assert client.post("/api/auth/login", json={"email": user.email, "password": "Amber-Lantern-93"}).status_code == 200


def test_change_password_wrong_old_password(user):
    r = user.post("/api/auth/change-password", json={"old_password": "Nope12345", "new_password": "Amber-Lantern-93"})
    assert r.status_code == 400 and "incorrect" in r.json()["message"]


def test_password_is_hashed_with_argon2id(db, user):
    with db.cursor() as cur:
        cur.execute("SELECT password_hash FROM users WHERE user_id = %s", (user.user_id,))
        assert cur.fetchone()["password_hash"].startswith("$argon2id$")
