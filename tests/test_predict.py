"""/api/predict: the contract's shape, models from the registry shared by
every instance and worker, the provisional baseline before a model exists
(no fitting in the API), short histories, restock list, bad input."""

from __future__ import annotations

import time

import httpx
import pytest

CHART_FIELDS = {"date", "historical", "predicted", "lower", "upper", "isHoliday", "holidayName"}
RECOMMENDATION_FIELDS = {
    "productId",
    "productName",
    "currentStock",
    "predictedDemand",
    "recommendedRestock",
    "urgency",
    "safetyStock",
    "reorderPoint",
    "daysOfStock",
    "leadTimeDays",
    "serviceLevel",
}


def _store_id(db, user) -> int:
    with db.cursor() as cur:
        cur.execute("SELECT store_id FROM users WHERE user_id = %s", (user.user_id,))
        return cur.fetchone()["store_id"]


def _product_with_history(db, store_id: int, sku: str, days: int, stock: int = 40) -> int:
    """A product selling ~10/day on weekdays and ~16/day on weekends for `days` days."""
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO products (store_id, sku, name, category, price, stock) "
            "VALUES (%s, %s, %s, 'Test', 1000, %s) RETURNING product_id",
            (store_id, sku, f"Item {sku}", stock),
        )
        pid = cur.fetchone()["product_id"]
        if days:
            cur.execute(
                """INSERT INTO transactions (store_id, product_id, quantity_sold, price_per_unit, transaction_date)
                   SELECT %s, %s, CASE WHEN extract(isodow FROM d) >= 6 THEN 16 ELSE 10 END + (random() * 3)::int,
                          1000, d + interval '10 hours'
                   FROM generate_series(current_date - %s, current_date - 1, interval '1 day') AS d""",
                (store_id, pid, days),
            )
    return pid


@pytest.fixture(scope="module")
def worker(stack):
    """A job worker for this module: models are trained there, never in the API."""
    stack.start("worker", wait_port=0)
    yield
    stack.stop("worker")


def with_model(user, sku: str, days: int = 7, timeout: float = 90.0) -> dict:
    """POST /api/predict until the answer comes from a trained model (bounded wait)."""
    deadline = time.monotonic() + timeout
    while True:
        r = user.post("/api/predict", json={"product_sku": sku, "days": days})
        assert r.status_code == 200, r.text
        body = r.json()
        if not body["model"]["provisional"]:
            return body
        assert time.monotonic() < deadline, f"no model for {sku} after {timeout} s"
        time.sleep(0.3)


@pytest.fixture()
def shop(user, db):
    store_id = _store_id(db, user)
    _product_with_history(db, store_id, "HIST-1", 200)
    return user, store_id


def test_without_a_model_the_api_answers_a_provisional_baseline_and_queues_training(shop, db):
    user, store_id = shop
    r = user.post("/api/predict", json={"product_sku": "HIST-1", "days": 14})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"]["provisional"] is True and body["model"]["method"] == "baseline_weekday_mean"
    assert body["model"]["model_id"] is None and body["accuracy"] is None
    future = [p for p in body["chartData"] if p["historical"] is None]
    assert len(future) == 14 and all(p["lower"] <= p["predicted"] <= p["upper"] for p in future)
    weekend = [p["predicted"] for p in future if _weekday(p["date"]) >= 5]
    weekday = [p["predicted"] for p in future if _weekday(p["date"]) < 5]
    # ~16 on weekends, ~10 on weekdays (+ 0..3): weekday means of recent weeks.
    assert 15 <= sum(weekend) / len(weekend) <= 20 and 9 <= sum(weekday) / len(weekday) <= 14
    (rec,) = body["recommendations"]
    assert set(rec) >= RECOMMENDATION_FIELDS and rec["predictedDemand"] > 0
    # Nothing was fitted in the API; one training job is queued, however often it is asked.
    user.post("/api/predict", json={"product_sku": "HIST-1", "days": 7})
    with db.cursor() as cur:
        cur.execute("SELECT count(*) AS n FROM forecast_models WHERE store_id = %s", (store_id,))
        assert cur.fetchone()["n"] == 0
    active = user.get("/api/tasks/active").json()["active_tasks"]
    assert [t["task_name"] for t in active] == ["train_product"], active


def test_wait_for_model_answers_202_with_the_training_task(shop):
    user, _ = shop
    r = user.post("/api/predict", json={"product_sku": "HIST-1", "wait_for_model": True})
    assert r.status_code == 202, r.text
    task_id = r.json()["task_id"]
    again = user.post("/api/predict", json={"product_sku": "HIST-1"})
    assert again.json()["model"]["provisional"] is True
    status = user.get(f"/api/predict/task/{task_id}")
    assert status.status_code == 202 and status.json()["task_name"] == "train_product", status.text


def test_predict_matches_the_contract(shop, worker):
    user, _ = shop
    body = with_model(user, "HIST-1", days=14)
    chart = body["chartData"]
    assert len(chart) == 90 + 14  # history window then the horizon, from today
    for point in chart:
        assert set(point) >= CHART_FIELDS
        assert isinstance(point["isHoliday"], bool)
    future = [p for p in chart if p["historical"] is None]
    assert len(future) == 14 and all(p["predicted"] is not None for p in future)
    assert future[0]["date"] == body["today"]
    assert all(p["lower"] <= p["predicted"] <= p["upper"] for p in future)
    weekend = [p["predicted"] for p in future if _weekday(p["date"]) >= 5]
    weekday = [p["predicted"] for p in future if _weekday(p["date"]) < 5]
    assert sum(weekend) / len(weekend) > sum(weekday) / len(weekday)  # weekly pattern recovered
    (rec,) = body["recommendations"]
    assert set(rec) >= RECOMMENDATION_FIELDS
    assert rec["urgency"] in ("high", "medium", "low")
    assert isinstance(rec["productId"], int) and rec["productName"] == "Item HIST-1"
    assert 0 <= body["accuracy"] <= 100


def _weekday(iso: str) -> int:
    import datetime

    return datetime.date.fromisoformat(iso).weekday()


def test_second_answer_comes_from_cache_and_is_identical(shop, worker):
    user, _ = shop
    with_model(user, "HIST-1")
    first = user.post("/api/predict", json={"product_sku": "HIST-1", "days": 7}).json()
    second = user.post("/api/predict", json={"product_sku": "HIST-1", "days": 7}).json()
    assert first == second


def test_three_days_of_history_gets_a_forecast_with_wide_intervals(user, db):
    store_id = _store_id(db, user)
    _product_with_history(db, store_id, "NEW-1", 3)
    r = user.post("/api/predict", json={"product_sku": "NEW-1", "days": 7})
    assert r.status_code == 200, r.text
    future = [p for p in r.json()["chartData"] if p["historical"] is None]
    assert all(p["upper"] - p["lower"] >= 0.5 * p["predicted"] for p in future)


def test_product_without_any_sales_still_answers(user, db):
    _product_with_history(db, _store_id(db, user), "EMPTY-1", 0)
    r = user.post("/api/predict", json={"product_sku": "EMPTY-1", "days": 7})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "product_sku"),
        ({"product_sku": "HIST-1", "days": 0}, "days"),
        ({"product_sku": "HIST-1", "days": 366}, "days"),
        ({"product_sku": "HIST-1", "days": "many"}, "days"),
        ({"product_sku": "HIST-1", "history_days": -1}, "history_days"),
        ({"product_sku": "HIST-1", "colour": "red"}, "colour"),
    ],
)
def test_bad_input_names_the_field(shop, body, field):
    user, _ = shop
    r = user.post("/api/predict", json=body)
    assert r.status_code == 400
    assert field in r.json()["message"]


def test_another_stores_product_is_404(shop, make_user):
    other = make_user()
    r = other.post("/api/predict", json={"product_sku": "HIST-1", "days": 7})
    assert r.status_code == 404
    assert other.get("/api/predict/restock").json()["items"] == []


def test_restock_lists_every_product_most_urgent_first(user, db, worker):
    store_id = _store_id(db, user)
    _product_with_history(db, store_id, "LOW-1", 120, stock=5)
    _product_with_history(db, store_id, "HIGH-1", 120, stock=100000)
    for sku in ("LOW-1", "HIGH-1"):
        with_model(user, sku)
    items = user.get("/api/predict/restock", params={"days": 14}).json()["items"]
    assert [i["sku"] for i in items] == ["LOW-1", "HIGH-1"]
    assert items[0]["urgency"] == "high" and items[1]["urgency"] == "low"


def test_model_trained_by_a_worker_is_used_by_both_instances(stack, user, db, worker):
    store_id = _store_id(db, user)
    pid = _product_with_history(db, store_id, "WRK-1", 150)
    r = user.post("/api/tasks/training/product/WRK-1")
    assert r.status_code == 202, r.text
    task_id = r.json()["task_id"]
    deadline = time.time() + 60
    while time.time() < deadline:
        status = user.get(f"/api/tasks/{task_id}")
        if status.status_code == 200:
            break
        time.sleep(0.3)
    assert status.status_code == 200 and status.json()["status"] == "SUCCESS", status.text
    with db.cursor() as cur:
        cur.execute("SELECT model_id, version FROM forecast_models WHERE product_id = %s", (pid,))
        (row,) = cur.fetchall()
    for port in stack.ports.api:
        r = httpx.post(
            f"http://127.0.0.1:{port}/api/predict",
            headers=user.headers,
            json={"product_sku": "WRK-1", "days": 7},
            timeout=30,
        )
        assert r.status_code == 200
        assert r.json()["model"]["model_id"] == row["model_id"]


def test_a_prediction_waiting_for_a_model_hurries_the_imports_debounced_training(shop, stack):
    """An import queues its training 10 s later (debounced); a prediction of that product
    without a model must not wait for the debounce: the same job becomes due at once."""
    import redis

    from siprems import keys

    user, _ = shop
    day = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    sales = [{"product_sku": "HIST-1", "quantity": 3, "transaction_date": day}]
    assert user.post("/api/transactions/import", json={"transactions": sales}).status_code == 200
    queue = redis.Redis.from_url(stack.env()["QUEUE_REDIS_URL"], decode_responses=True)
    try:
        (job_id,) = [t["task_id"] for t in user.get("/api/tasks/scheduled").json()["scheduled_tasks"]]
        assert queue.zscore(keys.JOBS_DELAYED, job_id) > time.time() * 1000 + 5000  # debounced
        assert user.post("/api/predict", json={"product_sku": "HIST-1"}).json()["model"]["provisional"]
        assert queue.zscore(keys.JOBS_DELAYED, job_id) <= time.time() * 1000  # due now, the same job
        assert user.get("/api/tasks/scheduled").json()["scheduled_tasks"] == []
    finally:
        queue.close()
