"""The model registry under at-least-once delivery: a training run id stores one
version however often its job runs, and only the last KEEP_VERSIONS versions stay
(the chaos suite's "one model per training run" check accounts for the pruning)."""

from __future__ import annotations

import pytest

from siprems.db import create_pool
from siprems.forecasting import registry, service
from siprems.redis_client import create_redis


def _store_id(db, user) -> int:
    with db.cursor() as cur:
        cur.execute("SELECT store_id FROM users WHERE user_id = %s", (user.user_id,))
        return cur.fetchone()["store_id"]


def _product(db, store_id: int, sku: str, history_days: int = 0) -> int:
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO products (store_id, sku, name, category, price, stock) "
            "VALUES (%s, %s, %s, 'Test', 1000, 50) RETURNING product_id",
            (store_id, sku, f"Item {sku}"),
        )
        pid = cur.fetchone()["product_id"]
        if history_days:
            cur.execute(
                """INSERT INTO transactions (store_id, product_id, quantity_sold, price_per_unit, transaction_date)
                   SELECT %s, %s, 5 + extract(isodow FROM d)::int, 1000, d + interval '10 hours'
                   FROM generate_series(current_date - %s, current_date - 1, interval '1 day') AS d""",
                (store_id, pid, history_days),
            )
    return pid


def _rows(db, product_id: int) -> list[dict]:
    with db.cursor() as cur:
        cur.execute(
            "SELECT version, training_run_id FROM forecast_models WHERE product_id = %s ORDER BY version", (product_id,)
        )
        return [dict(r) for r in cur.fetchall()]


@pytest.fixture()
async def pool(stack):
    p = await create_pool(stack.database_url, maxsize=2)
    yield p
    p.close()
    await p.wait_closed()


@pytest.fixture()
async def cache(stack):
    """The test stack's cache Redis (training invalidates the store's cached reads there)."""
    client = create_redis(f"redis://127.0.0.1:{stack.ports.redis}/0")
    yield client
    await client.aclose()


async def test_a_training_run_trained_twice_stores_one_version(user, db, pool, cache):
    """A redelivered job re-runs the whole training (fit included) with its job id as run id."""
    store_id = _store_id(db, user)
    pid = _product(db, store_id, "REG-TWICE", history_days=60)
    first = await service.train_product(pool, store_id, pid, run_id="job-redelivered", redis=cache)
    again = await service.train_product(pool, store_id, pid, run_id="job-redelivered", redis=cache)
    assert first["created"] is True and again["created"] is False
    assert (again["model_id"], again["version"]) == (first["model_id"], first["version"])
    other = await service.train_product(pool, store_id, pid, run_id="job-next", redis=cache)
    assert other["created"] is True and other["version"] == first["version"] + 1
    assert _rows(db, pid) == [
        {"version": 1, "training_run_id": "job-redelivered"},
        {"version": 2, "training_run_id": "job-next"},
    ]


async def test_saves_past_the_retention_prune_the_oldest_runs(user, db, pool):
    store_id = _store_id(db, user)
    pid = _product(db, store_id, "REG-KEEP")
    model = {"method": "weekday_mean", "metrics": {}, "fingerprint": "f"}
    runs = [f"run-{i}" for i in range(1, registry.KEEP_VERSIONS + 3)]
    for run in runs:
        saved = await registry.save(pool, store_id=store_id, product_id=pid, model=model, run_id=run)
        assert saved["created"] is True
    kept = runs[-registry.KEEP_VERSIONS :]
    assert _rows(db, pid) == [{"version": i + 3, "training_run_id": run} for i, run in enumerate(kept)]
    # A pruned run redelivered now stores a new newest version (its old one is gone), still one row per run id.
    late = await registry.save(pool, store_id=store_id, product_id=pid, model=model, run_id=runs[0])
    assert late["created"] is True and late["version"] == len(runs) + 1
    rows = _rows(db, pid)
    assert len(rows) == registry.KEEP_VERSIONS and len({r["training_run_id"] for r in rows}) == len(rows)
