"""Passwords are kept exactly as typed (never trimmed) and common or breached
ones are refused with a clear 400, at registration and at a password change."""

from __future__ import annotations

import uuid

import pytest


def _email() -> str:
    return f"pw-{uuid.uuid4().hex[:10]}@example.com"


def _register(client, email: str, password: str):
    return client.post("/api/auth/register", json={"email": email, "password": password, "full_name": "Pat Owner"})


def _login(client, email: str, password: str):
    return client.post("/api/auth/login", json={"email": email, "password": password})


def test_surrounding_spaces_are_part_of_the_password(client):
    email = _email()
    assert _register(client, email, "  Quiet-Harbor-42  ").status_code == 201
    assert _login(client, email, "Quiet-Harbor-42").status_code == 401
    assert _login(client, email, "  Quiet-Harbor-42").status_code == 401
    assert _login(client, email, "  Quiet-Harbor-42  ").status_code == 200


def test_a_changed_password_is_kept_exactly(client, user):
    r = user.post(
        "/api/auth/change-password", json={"old_password": user.password, "new_password": " Amber-Lantern-93 "}
    )
    assert r.status_code == 200, r.text
    assert _login(client, user.email, "Amber-Lantern-93").status_code == 401
    assert _login(client, user.email, " Amber-Lantern-93 ").status_code == 200


def test_email_and_name_are_still_trimmed(client):
    email = _email()
    r = client.post(
        "/api/auth/register", json={"email": f"  {email} ", "password": "Quiet-Harbor-42", "full_name": " Pat Owner "}
    )
    assert r.status_code == 201, r.text
    assert r.json()["user"]["full_name"] == "Pat Owner" and r.json()["user"]["email"] == email
    assert _login(client, email, "Quiet-Harbor-42").status_code == 200


# Each meets the length/upper-case/digit rule; all are common passwords or close to one.
WEAK = ["Password1", "Secret123", "Qwerty123", "P@ssword1", "Password1!", "Letmein123", "Iloveyou1"]


@pytest.mark.parametrize("password", WEAK)
def test_common_passwords_are_refused_at_registration(client, password):
    email = _email()
    r = _register(client, email, password)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "weak_password"
    assert "too common or too easy to guess" in r.json()["message"]
    assert _login(client, email, password).status_code == 401  # no account was made


def test_common_passwords_are_refused_at_a_password_change(client, user):
    r = user.post("/api/auth/change-password", json={"old_password": user.password, "new_password": "Password1"})
    assert r.status_code == 400 and r.json()["error"] == "weak_password"
    assert _login(client, user.email, user.password).status_code == 200  # unchanged


@pytest.mark.parametrize("password", ["Quiet-Harbor-42", "Kx9!plumtree", "Rahasia123", "correct Horse battery 9"])
def test_uncommon_passwords_pass(client, password):
    assert _register(client, _email(), password).status_code == 201
