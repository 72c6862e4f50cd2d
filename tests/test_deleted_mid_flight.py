"""A product deleted while something works on it: its training job ends once
with a short, safe error (no retry loop, no raw database text for clients), and a
prediction that had already looked the product up answers 404, not a 500."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from siprems.calendar.locale import store_locale
from siprems.catalog import read as catalog
from siprems.db import create_pool
from siprems.errors import NotFound
from siprems.forecasting import prediction
from siprems.jobs import execution
from siprems.jobs.registry import get_type
from siprems.jobtypes import install
from siprems.redis_client import create_redis

install()


def _store_id(db, user) -> int:
    with db.cursor() as cur:
        cur.execute("SELECT store_id FROM users WHERE user_id = %s", (user.user_id,))
        return cur.fetchone()["store_id"]


def _product(db, store_id: int) -> dict:
    sku = f"GONE-{uuid.uuid4().hex[:6]}"
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO products (store_id, sku, name, category, price, stock) "
            "VALUES (%s, %s, 'Soon gone', 'Test', 1000, 5) RETURNING product_id, sku",
            (store_id, sku),
        )
        return dict(cur.fetchone())


def _delete(db, product_id: int) -> None:
    with db.cursor() as cur:
        cur.execute("DELETE FROM products WHERE product_id = %s", (product_id,))


@pytest.fixture()
async def pool(stack):
    p = await create_pool(stack.database_url, maxsize=2)
    yield p
    p.close()
    await p.wait_closed()


@pytest.fixture()
async def cache(stack):
    client = create_redis(f"redis://127.0.0.1:{stack.ports.redis}/0")
    yield client
    await client.aclose()


class _Context:
    """The job context a worker passes, with one hook: the product is deleted the
    moment training reports its history loaded (the fit runs after that)."""

    def __init__(self, pool, cache, store_id: int, product_id: int, on_loaded):
        self.pool, self.cache_redis, self.redis = pool, cache, cache
        self.store_id, self.job_id, self.type = store_id, f"test-{uuid.uuid4().hex}", "train_product"
        self.args = {"product_id": product_id}
        self._on_loaded = on_loaded

    async def check_cancelled(self) -> None:
        return None

    async def progress(self, percent: float, message: str | None = None) -> None:
        if message == "history loaded":
            self._on_loaded()


async def test_a_product_deleted_during_training_ends_the_job_once_with_a_safe_error(user, db, pool, cache):
    store_id = _store_id(db, user)
    product = _product(db, store_id)
    ctx = _Context(pool, cache, store_id, product["product_id"], lambda: _delete(db, product["product_id"]))
    outcome = await execution.run_handler(
        get_type("train_product"), ctx, failures=0, max_retries=3, handing_back=lambda: False
    )
    state, error, detail = outcome
    assert state == "FAILURE", outcome  # not RETRY: no run can succeed now
    assert error == "The product was deleted while it was being trained."
    assert "ForeignKeyViolation" in detail  # the operator's traceback keeps the detail


async def test_unexpected_database_errors_reach_clients_as_a_kind_only(user, db, pool, cache):
    """Defect: the job's error showed 'ForeignKeyViolation ... forecast_models_product_id_fkey'."""
    store_id = _store_id(db, user)
    product = _product(db, store_id)
    ctx = _Context(pool, cache, store_id, product["product_id"], lambda: None)

    async def failing(ctx, **_):
        async with ctx.pool.acquire() as conn, conn.cursor() as cur:
            await cur.execute("INSERT INTO forecast_models (store_id, product_id) VALUES (%s, -1)", (ctx.store_id,))

    jt = get_type("train_product")
    outcome = await execution.run_handler(
        dataclasses.replace(jt, handler=failing), ctx, failures=0, max_retries=3, handing_back=lambda: False
    )
    state, error, _ = outcome
    assert state == "RETRY" and error == "A database error interrupted the job."
    for leak in ("forecast_models", "Violation", "null value", "constraint"):
        assert leak not in error


async def test_a_prediction_for_a_product_deleted_after_its_lookup_is_404(user, db, pool):
    store_id = _store_id(db, user)
    product = await catalog.product_by_sku(pool, store_id, _product(db, store_id)["sku"])
    _delete(db, product["product_id"])  # between the request's lookup and its forecast
    for view in (prediction.model_view, prediction.baseline_view):
        with pytest.raises(NotFound) as raised:
            await view(pool, await store_locale(pool, store_id), product, 14)
        assert raised.value.code == "product_not_found" and product["sku"] in raised.value.message
