"""DATABASE_PASSWORD: the database password from its own variable (on
Kubernetes a secret key CloudNativePG makes), put into DATABASE_URL and
DATABASE_DIRECT_URL, percent-encoded; checked against a real PostgreSQL."""

from __future__ import annotations

import psycopg2
import pytest

from siprems.config import load_settings, with_password

ODD = "p@ss:w/rd %41?#&=é"


def test_password_replaces_the_one_in_both_urls():
    s = load_settings(
        {
            "DATABASE_URL": "postgresql://app:old@pooler:5432/db?sslmode=prefer",
            "DATABASE_DIRECT_URL": "postgresql://app@cluster-rw:5432/db",
            "DATABASE_PASSWORD": "n3w",
        }
    )
    assert s.database_url == "postgresql://app:n3w@pooler:5432/db?sslmode=prefer"
    assert s.database_direct_url == "postgresql://app:n3w@cluster-rw:5432/db"
    assert s.migrations_url == s.database_direct_url


def test_without_a_direct_url_migrations_use_the_pooled_one_with_the_password():
    s = load_settings({"DATABASE_URL": "postgresql://app@pooler:5432/db", "DATABASE_PASSWORD": "pw"})
    assert s.database_direct_url == "" and s.migrations_url == "postgresql://app:pw@pooler:5432/db"


def test_unset_password_leaves_the_urls_alone():
    url = "postgresql://app:keep@pooler:5432/db"
    assert load_settings({"DATABASE_URL": url}).database_url == url


def test_special_characters_are_encoded():
    url = with_password("postgresql://app@h:5432/db", ODD)
    assert "@h:5432/db" in url and url.count("@") == 1 and "/" not in url.split("@")[0].removeprefix("postgresql://")


def test_libpq_logs_in_with_the_encoded_password(stack):
    """A role whose password has every URL-special character logs in to the
    test stack's PostgreSQL through the URL load_settings builds."""
    admin = psycopg2.connect(stack.admin_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("DROP ROLE IF EXISTS k8s_password_probe")
        cur.execute("CREATE ROLE k8s_password_probe LOGIN PASSWORD %s", (ODD,))
    try:
        port = stack.ports.postgres
        s = load_settings(
            {"DATABASE_URL": f"postgresql://k8s_password_probe@127.0.0.1:{port}/siprems", "DATABASE_PASSWORD": ODD}
        )
        with psycopg2.connect(s.database_url) as conn, conn.cursor() as cur:
            cur.execute("SELECT current_user")
            assert cur.fetchone()[0] == "k8s_password_probe"
        wrong = load_settings(
            {"DATABASE_URL": f"postgresql://k8s_password_probe@127.0.0.1:{port}/siprems", "DATABASE_PASSWORD": "nope"}
        )
        with pytest.raises(psycopg2.OperationalError):
            psycopg2.connect(wrong.database_url).close()
    finally:
        with admin.cursor() as cur:
            cur.execute("DROP ROLE IF EXISTS k8s_password_probe")
        admin.close()
