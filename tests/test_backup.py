"""`siprems backup` / `siprems restore`, run as the real commands against the test
stack's PostgreSQL: the demo shop with two years of sales is dumped, restored into a
fresh database and found identical (every row, sum and sequence), and an API
instance serves the demo login and its data from the restored database."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import psycopg2
import pytest

from devtools.stack import REPO, free_port, wait_for_http
from siprems.db.migrate import apply_migrations
from siprems.demo.seed import DEMO_EMAIL, DEMO_PASSWORD, seed

# Every row of every table, in a stable order: equal digests mean equal contents.
TABLE_DIGEST = "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM public.{} t"
SUMS = """
SELECT (SELECT sum(quantity_sold) FROM transactions), (SELECT sum(quantity_sold * price_per_unit) FROM transactions),
       (SELECT sum(stock) FROM products), (SELECT min(transaction_date)::text FROM transactions),
       (SELECT max(transaction_date)::text FROM transactions), (SELECT count(*) FROM events)
"""


def _url(stack, database: str) -> str:
    return stack.direct_url.rsplit("/", 1)[0] + "/" + database


def _create_database(stack) -> str:
    name = f"bk_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(stack.admin_dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name} OWNER siprems")
    conn.close()
    return name


def _drop_database(stack, name: str) -> None:
    conn = psycopg2.connect(stack.admin_dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    conn.close()


def _siprems(*args: str, url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "DATABASE_DIRECT_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "siprems", *args],
        check=False,
        env=env,
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _snapshot(url: str) -> dict:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND relkind = 'r' ORDER BY 1"
            )
            tables = [r[0] for r in cur.fetchall()]
            digests = {}
            for table in tables:
                cur.execute(TABLE_DIGEST.format(table))
                digests[table] = cur.fetchone()
            cur.execute(SUMS)
            sums = cur.fetchone()
            cur.execute("SELECT sequencename, last_value FROM pg_sequences ORDER BY 1")
            sequences = cur.fetchall()
            # The next id each sequence hands out (restored with is_called, not just last_value).
            nexts = {}
            for name, _ in sequences:
                cur.execute(f"SELECT nextval('public.{name}')")
                nexts[name] = cur.fetchone()[0]
        conn.rollback()
    finally:
        conn.close()
    return {"tables": digests, "sums": sums, "sequences": sequences, "next": nexts}


@pytest.fixture()
def databases(stack):
    made: list[str] = []

    def make() -> str:
        made.append(_create_database(stack))
        return _url(stack, made[-1])

    yield make
    for name in made:
        _drop_database(stack, name)


@pytest.fixture()
def demo_source(stack, databases):
    url = databases()
    apply_migrations(url)
    seed(url, days=730)
    return url


def test_backup_restore_round_trip_is_identical_and_served(stack, databases, demo_source, tmp_path):
    done = _siprems("backup", "--dir", str(tmp_path), url=demo_source)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    archive = tmp_path / out["file"]
    manifest = json.loads((tmp_path / (out["file"] + ".json")).read_text())
    assert manifest["format"] == "custom" and manifest["schema_version"] >= 1
    assert manifest["row_counts"]["transactions"] > 20_000  # two years of the demo shop's sales
    assert manifest["sha256"] == out["sha256"] and manifest["bytes"] == archive.stat().st_size
    before = _snapshot(demo_source)
    assert {t: n for t, (n, _) in before["tables"].items()} == manifest["row_counts"]

    target = databases()
    done = _siprems("restore", str(archive), url=target)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "tables": len(manifest["row_counts"]),
        "rows": sum(manifest["row_counts"].values()),
        "verified": True,
    }
    after = _snapshot(target)
    assert after == before

    # An instance on the restored database serves the demo shop (own Redis db numbers: no shared cache).
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": target,
        "DATABASE_DIRECT_URL": target,
        "REDIS_URL": f"redis://127.0.0.1:{stack.ports.redis}/7",
        "QUEUE_REDIS_URL": f"redis://127.0.0.1:{stack.ports.queue}/7",
        "JWT_SECRET": stack.jwt_secret,
        "SIPREMS_ENV": "development",
    }
    with open(tmp_path / "api.log", "wb") as log:  # the child has its own copy of the fd
        api = subprocess.Popen(
            [sys.executable, "-m", "siprems", "serve", "--port", str(port), "--workers", "1"],
            env=env,
            cwd=str(REPO),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", timeout=60, proc=api)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            r = http.post("/api/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
            assert r.status_code == 200, r.text
            http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
            products = http.get("/api/products")
            assert products.status_code == 200
            assert sum(p["stock"] for p in products.json()) == before["sums"][2]
            sales = http.get("/api/transactions?limit=5")
            assert sales.status_code == 200 and sales.json()
            # A new sale on the restored database gets the next id of the restored sequence.
            sku = products.json()[0]["sku"]
            r = http.post(
                "/api/transactions/checkout",
                json={"items": [{"product": {"id": sku}, "quantity": 1}]},
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
            assert r.status_code == 201, r.text
    finally:
        os.killpg(api.pid, 15)
        api.wait(20)
        log.close()
    conn = psycopg2.connect(target)
    with conn.cursor() as cur:
        cur.execute("SELECT max(transaction_id) FROM transactions")
        # _snapshot took one id from the restored sequence as it did from the source: the sale got the one after.
        assert cur.fetchone()[0] == before["next"]["transactions_transaction_id_seq"] + 1
    conn.close()


def test_restore_refuses_a_non_empty_database_unless_forced(databases, demo_source, tmp_path):
    out = json.loads(_siprems("backup", "--dir", str(tmp_path), url=demo_source).stdout)
    archive = tmp_path / out["file"]
    done = _siprems("restore", str(archive), url=demo_source)
    assert done.returncode == 2 and "not empty" in done.stderr, done.stderr
    forced = _siprems("restore", str(archive), "--force", url=demo_source)
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["verified"] is True

    damaged = tmp_path / ("damaged-" + out["file"])
    shutil.copy(archive, damaged)
    shutil.copy(tmp_path / (out["file"] + ".json"), tmp_path / (damaged.name + ".json"))
    with open(damaged, "r+b") as f:
        f.seek(archive.stat().st_size // 2)
        f.write(b"\0" * 16)
    done = _siprems("restore", str(damaged), url=databases())
    assert done.returncode == 2 and "checksum" in done.stderr


def test_retention_keeps_the_newest_archives(databases, tmp_path):
    url = databases()
    apply_migrations(url)
    # Without a direct URL the commands refuse rather than dump through pgbouncer.
    env = {**os.environ, "DATABASE_URL": url, "DATABASE_DIRECT_URL": ""}
    refused = subprocess.run(
        [sys.executable, "-m", "siprems", "backup", "--dir", str(tmp_path)],
        check=False,
        env=env,
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 1 and "DATABASE_DIRECT_URL" in refused.stderr
    assert list(Path(tmp_path).iterdir()) == []
    names = []
    for _ in range(3):
        done = _siprems("backup", "--dir", str(tmp_path), "--keep", "2", url=url)
        assert done.returncode == 0, done.stderr
        names.append(json.loads(done.stdout)["file"])
    assert json.loads(done.stdout)["pruned"] == [names[0]]
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == sorted(
        [names[1], names[1] + ".json", names[2], names[2] + ".json"]
    )
