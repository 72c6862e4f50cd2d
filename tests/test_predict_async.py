"""`/api/predict/async`, `/api/predict/task/<id>` (another store's task and a
task of another type are 404) and the background refresh of a stale model by
`/api/predict`: each with a worker training for real."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest

from siprems import keys
from siprems.jobs import producer
from support_sales import assert_error, store_of
from test_predict import _product_with_history, with_model

pytest_plugins = ["support_jobs_fixtures"]  # fixtures: procs, queue, pg, job_test_tables


@pytest.fixture(scope="module")
def worker(stack):
    stack.start("worker", wait_port=0)
    yield
    stack.stop("worker")


def poll_task(user, task_id: str, timeout: float = 90.0):
    """GET /api/predict/task/<id> until it stops answering 202."""
    deadline = time.monotonic() + timeout
    while True:
        r = user.get(f"/api/predict/task/{task_id}")
        if r.status_code != 202:
            return r
        assert r.json()["task_id"] == task_id
        assert time.monotonic() < deadline, f"task {task_id} still running after {timeout} s: {r.text}"
        time.sleep(0.3)


def models_of(db, product_id: int) -> list[dict]:
    with db.cursor() as cur:
        cur.execute(
            "SELECT model_id, version, training_run_id FROM forecast_models WHERE product_id = %s ORDER BY version",
            (product_id,),
        )
        return [dict(r) for r in cur.fetchall()]


def test_async_predict_trains_the_missing_model_then_answers_like_predict(user, db, worker):
    pid = _product_with_history(db, store_of(db, user), "ASYNC-1", 150)
    r = user.post("/api/predict/async", json={"product_sku": "ASYNC-1", "days": 10})
    assert r.status_code == 202, r.text
    submitted = r.json()
    assert submitted["status"] == "submitted" and submitted["product_sku"] == "ASYNC-1"
    assert submitted["forecast_days"] == 10

    r = poll_task(user, submitted["task_id"])
    assert r.status_code == 200, r.text
    task = r.json()
    assert task["status"] == "SUCCESS" and task["task_name"] == "predict", task
    result = task["result"]
    # No model existed: the job trained one (its own id is the training run id), then answered from it.
    (model,) = models_of(db, pid)
    assert model["training_run_id"] == submitted["task_id"]
    assert result["model"]["provisional"] is False and result["model"]["model_id"] == model["model_id"]
    assert len(result["chartData"]) == 90 + 10
    future = [p["predicted"] for p in result["chartData"] if p["historical"] is None]
    assert len(future) == 10 and all(v is not None for v in future)

    # The synchronous answer now comes from the same model with the same numbers.
    sync = user.post("/api/predict", json={"product_sku": "ASYNC-1", "days": 10}).json()
    assert sync["model"]["model_id"] == model["model_id"]
    assert [p["predicted"] for p in sync["chartData"] if p["historical"] is None] == future
    assert sync["recommendations"] == result["recommendations"]


def test_async_predict_refuses_unknown_foreign_and_bad_input(user, make_user, db):
    _product_with_history(db, store_of(db, user), "ASYNC-2", 0)
    assert_error(user.post("/api/predict/async", json={"product_sku": "NOPE"}), 404, "NOPE")
    stranger = make_user()
    assert_error(stranger.post("/api/predict/async", json={"product_sku": "ASYNC-2"}), 404, "ASYNC-2")
    assert_error(user.post("/api/predict/async", json={"product_sku": "ASYNC-2", "days": 0}), 400, "days")
    assert_error(user.post("/api/predict/async", json={"product_sku": "ASYNC-2", "colour": "red"}), 400, "colour")


async def test_predict_task_answers_only_its_store_and_prediction_tasks(user, make_user, db, queue):
    store = store_of(db, user)
    _product_with_history(db, store, "ASYNC-3", 0)
    r = user.post("/api/predict/async", json={"product_sku": "ASYNC-3", "days": 3})
    assert r.status_code == 202, r.text
    mine = r.json()["task_id"]
    assert user.get(f"/api/predict/task/{mine}").status_code in (200, 202)

    # Another store's user: the id exists, but not for them.
    stranger = make_user()
    assert_error(stranger.get(f"/api/predict/task/{mine}"), 404, mine)

    # The owner's own jobs of other types exist (the task API finds them) but are not predictions.
    for job_type, args in (("noop", {}), ("train_all", {"only_stale": True})):
        other = (await producer.enqueue(queue, job_type, args, store_id=store)).job_id
        assert user.get(f"/api/tasks/{other}").status_code in (200, 202)
        assert_error(user.get(f"/api/predict/task/{other}"), 404, other)

    assert_error(user.get("/api/predict/task/no-such-task"), 404, "no-such-task")
    assert user.get("/api/predict/task/" + "x" * 300).status_code == 404


async def test_a_stale_model_answers_and_is_refreshed_once_in_the_background(user, db, worker, queue):
    store = store_of(db, user)
    pid = _product_with_history(db, store, "STALE-1", 150)
    fresh = with_model(user, "STALE-1")
    assert fresh["model"]["stale"] is False
    # The same model as a newer version whose path starts 10 days ago: it has not seen
    # the last week (prediction.STALE_AFTER_DAYS = 7).
    old_start = (date.fromisoformat(fresh["today"]) - timedelta(days=10)).isoformat()
    with db.cursor() as cur:
        cur.execute(
            """INSERT INTO forecast_models (store_id, product_id, version, method, model, metrics, train_start,
                                            train_end, data_fingerprint, training_run_id)
               SELECT store_id, product_id, version + 1, method, jsonb_set(model, '{start}', to_jsonb(%s::text)),
                      metrics, train_start, train_end, data_fingerprint, 'stale-copy'
               FROM forecast_models WHERE product_id = %s ORDER BY version DESC LIMIT 1
               RETURNING model_id, version""",
            (old_start, pid),
        )
        stale = cur.fetchone()

    for _ in range(3):  # asked several times: answered each time, refreshed once
        r = user.post("/api/predict", json={"product_sku": "STALE-1", "days": 7})
        assert r.status_code == 200, r.text
        body = r.json()
        if body["model"]["model_id"] != stale["model_id"]:
            break  # the refresh already landed
        assert body["model"]["stale"] is True and body["model"]["provisional"] is False

    # One refresh job per product and day (the API's idempotency key), trained by the worker.
    key = keys.job_idempotency(store, f"refresh:{pid}:{time.strftime('%Y-%m-%d')}")
    refresh = await queue.get(key)
    assert refresh, "no refresh job was queued for the stale model"
    deadline = time.monotonic() + 90
    while not any(m["training_run_id"] == refresh for m in models_of(db, pid)):
        assert time.monotonic() < deadline, models_of(db, pid)
        time.sleep(0.3)
    newer = [m for m in models_of(db, pid) if m["version"] > stale["version"]]
    assert [m["training_run_id"] for m in newer] == [refresh]
    body = user.post("/api/predict", json={"product_sku": "STALE-1", "days": 7}).json()
    assert body["model"]["model_id"] == newer[0]["model_id"] and body["model"]["stale"] is False
