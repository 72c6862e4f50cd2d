"""The task API through HAProxy: 202 while pending or running, 200 once done,
another store's task is a 404, cancel, listings, Idempotency-Key, /ready."""

from __future__ import annotations

import time

import httpx

from siprems.jobs import producer
from support_jobs import wait_job

pytest_plugins = ["support_jobs_fixtures"]  # fixtures: procs, queue, pg, job_test_tables


def store_of(user) -> int:
    r = user.get("/api/auth/profile")
    assert r.status_code == 200, r.text
    return r.json()["store_id"]


def add_product(db, store_id: int, sku: str, archived: bool = False) -> int:
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO products (store_id, sku, name, category, price, is_archived) "
            "VALUES (%s, %s, %s, 'Bakery', 2.5, %s) RETURNING product_id",
            (store_id, sku, sku, archived),
        )
        return cur.fetchone()["product_id"]


def poll(user, path: str, until, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while True:
        r = user.get(path)
        if until(r) or time.monotonic() > deadline:
            return r
        time.sleep(0.1)


async def test_training_task_lifecycle_is_scoped_to_the_store(make_user, db):
    owner, stranger = make_user(), make_user()
    product_id = add_product(db, store_of(owner), "BREAD-1")

    r = owner.post("/api/tasks/training/product/BREAD-1")
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "submitted" and body["product_sku"] == "BREAD-1" and body["message"]
    task = body["task_id"]

    r = owner.get(f"/api/tasks/{task}")  # no worker runs in this test: still PENDING
    assert r.status_code == 202 and r.json()["status"] == "PENDING", r.text
    assert r.json()["task_name"] == "train_product" and r.json()["args"]["product_id"] == product_id
    assert task in {t["task_id"] for t in owner.get("/api/tasks/active").json()["active_tasks"]}

    for path in (f"/api/tasks/{task}", "/api/tasks/no-such-task", "/api/tasks/bad%20id!"):
        r = stranger.get(path)
        assert r.status_code == 404 and r.json()["error"] == "task_not_found", r.text
    assert stranger.post(f"/api/tasks/{task}/cancel").status_code == 404
    assert task not in {t["task_id"] for t in stranger.get("/api/tasks/active").json()["active_tasks"]}
    assert stranger.post("/api/tasks/training/product/BREAD-1").status_code == 404  # not their product

    r = owner.post(f"/api/tasks/{task}/cancel")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "task_id": task,
        "status": "cancelled",
        "state": "REVOKED",
        "message": "Task cancelled before it started",
    }
    r = owner.get(f"/api/tasks/{task}")
    assert r.status_code == 200 and r.json()["status"] == "REVOKED"
    r = owner.post(f"/api/tasks/{task}/cancel")
    assert r.status_code == 409 and r.json()["error"] == "task_finished"


async def test_finished_tasks_answer_200_with_their_result(make_user, db, procs, queue):
    user = make_user()
    store = store_of(user)
    done = await producer.enqueue(queue, "noop", {"hello": "world"}, store_id=store)
    procs.start("w1")
    r = poll(user, f"/api/tasks/{done.job_id}", lambda r: r.status_code != 202)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "SUCCESS" and body["result"] == {"ok": True} and body["progress"] == 100
    assert body["created_at"].endswith("Z") and body["finished_at"]

    # train_all: a parent task that reports progress over one child per product, and
    # succeeds when its children do (a worker takes the training queue too).
    add_product(db, store, "ROLL-1")
    add_product(db, store, "OLD-1", archived=True)
    r = user.post("/api/tasks/training/all")
    assert r.status_code == 202 and r.json()["status"] == "submitted"
    r = poll(user, f"/api/tasks/{r.json()['task_id']}", lambda r: r.status_code != 202, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "SUCCESS", body
    assert body["children"]["total"] == 1  # the archived product is not trained
    assert body["children"].get("failed", 0) == 0, body

    assert user.post("/api/tasks/training/product/OLD-1").status_code == 409
    assert user.post("/api/tasks/training/product/NOPE").status_code == 404


async def test_running_task_cancel_scheduled_listing_and_idempotency(make_user, db, procs, queue):
    user = make_user()
    store = store_of(user)
    procs.start("w1")
    running = await producer.enqueue(queue, "progress_probe", {"steps": 40, "step_ms": 100}, store_id=store)
    await wait_job(queue, running.job_id, lambda j: j.progress > 0)
    r = user.get(f"/api/tasks/{running.job_id}")
    assert r.status_code == 202 and r.json()["status"] == "STARTED" and 0 < r.json()["progress"] < 100
    active = {t["task_id"]: t for t in user.get("/api/tasks/active").json()["active_tasks"]}
    assert active[running.job_id]["worker"] == procs.consumer("w1")
    r = user.post(f"/api/tasks/{running.job_id}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "STARTED"
    r = poll(user, f"/api/tasks/{running.job_id}", lambda r: r.status_code == 200, timeout=5)
    assert r.json()["status"] == "REVOKED"

    later = await producer.enqueue(queue, "noop", {}, store_id=store, due_at=time.time() + 120)
    body = user.get("/api/tasks/scheduled").json()
    scheduled = {t["task_id"]: t for t in body["scheduled_tasks"]}
    assert scheduled[later.job_id]["eta"].endswith("Z") and scheduled[later.job_id]["status"] == "PENDING"
    assert {"nightly-retrain", "cleanup-job-records"} <= {p["name"] for p in body["periodic"]}
    assert later.job_id not in {t["task_id"] for t in user.get("/api/tasks/active").json()["active_tasks"]}
    assert user.post(f"/api/tasks/{later.job_id}/cancel").json()["state"] == "REVOKED"

    add_product(db, store, "CAKE-1")
    headers = {"Idempotency-Key": "train-cake-once"}
    first = user.post("/api/tasks/training/product/CAKE-1", headers=headers).json()["task_id"]
    again = user.post("/api/tasks/training/product/CAKE-1", headers=headers).json()["task_id"]
    assert first == again
    assert user.post("/api/tasks/training/product/CAKE-1").json()["task_id"] != first
    r = user.post("/api/tasks/training/all", headers={"Idempotency-Key": "bad key with spaces"})
    assert r.status_code == 400


def test_ready_reports_the_queue(stack, procs):
    procs.start("w1")
    r = httpx.get(f"http://127.0.0.1:{stack.ports.api[0]}/ready")  # details: the internal port
    assert r.status_code == 200, r.text
    checks = r.json()["checks"]
    assert checks["queue"] == "ok"
    info = checks["queue_info"]
    assert info["workers_alive"] >= 1
    assert {"pending", "lag", "dead_letters", "delayed"} <= set(info)
    assert set(info["queues"]) == {"default", "training"}
