"""Which products the scheduled retraining picks: the nightly schedule every
active product, the hourly one only stale products (no model yet but sales,
or a model over a day old with sales recorded since). Run through the real
path: the schedule's own job and arguments, a worker running `train_all`, and
the child jobs it fans out (left unrun: no worker takes the training queue)."""

from __future__ import annotations

from siprems.forecasting.jobs import SCHEDULES
from siprems.jobs import producer, records
from support_jobs import state_is, wait_job
from support_sales import add_product, add_sale, local_noon, store_of

pytest_plugins = ["support_jobs_fixtures"]  # fixtures: procs, queue, pg, job_test_tables


def _model(db, store: int, product_id: int, trained_hours_ago: float) -> None:
    with db.cursor() as cur:
        cur.execute(
            """INSERT INTO forecast_models (store_id, product_id, version, method, model, data_fingerprint,
                                            training_run_id, trained_at)
               VALUES (%s, %s, 1, 'test', '{}'::jsonb, '', 'selection-test', now() - %s * interval '1 hour')""",
            (store, product_id, trained_hours_ago),
        )


def _sale(db, store: int, product_id: int, recorded_hours_ago: float) -> None:
    tx = add_sale(db, store, product_id, 1, 1000, local_noon(5))
    with db.cursor() as cur:  # staleness compares when a sale was recorded, not when it happened
        cur.execute(
            "UPDATE transactions SET created_at = now() - %s * interval '1 hour' WHERE transaction_id = %s",
            (recorded_hours_ago, tx),
        )


async def _picked(queue, store: int, schedule: str, candidates: dict[str, int]) -> set[str]:
    """Run the schedule's train_all for the store; the names of the products it fanned out to."""
    (sched,) = [s for s in SCHEDULES if s.name == schedule]
    assert sched.job_type == "train_all"
    parent = (await producer.enqueue(queue, sched.job_type, dict(sched.args), store_id=store)).job_id
    sealed = await wait_job(queue, parent, lambda j: bool(j.children), 60)  # fanned out
    picked = set()
    for name, pid in candidates.items():
        child = await records.get_job(queue, f"{parent}.p{pid}")
        if child is not None:
            assert child.type == "train_product" and child.args["product_id"] == pid, child
            picked.add(name)
            await producer.cancel(queue, child.id, result_ttl=60)  # nobody needs it trained
    assert sealed.children["total"] == len(picked), (sealed.children, picked)
    await wait_job(queue, parent, state_is("SUCCESS", "FAILURE", "REVOKED"), 30)
    return picked


async def test_nightly_retrains_every_active_product_and_hourly_only_the_stale(make_user, db, queue, procs):
    user = make_user()
    store = store_of(db, user)
    products = {
        name: add_product(db, store, archived=name == "archived")["product_id"]
        for name in ("new_sold", "new_unsold", "fresh", "old_sold_since", "old_quiet", "archived")
    }
    _sale(db, store, products["new_sold"], 2)
    _model(db, store, products["fresh"], trained_hours_ago=1)
    _sale(db, store, products["fresh"], 0.2)  # newer than the model, but the model is under a day old
    _model(db, store, products["old_sold_since"], trained_hours_ago=48)
    _sale(db, store, products["old_sold_since"], 1)
    _model(db, store, products["old_quiet"], trained_hours_ago=48)
    _sale(db, store, products["old_quiet"], 72)  # sold before its model was trained
    _sale(db, store, products["archived"], 1)
    other = store_of(db, make_user())
    products["other_store"] = add_product(db, other)["product_id"]
    _sale(db, other, products["other_store"], 1)

    procs.start("w1", args=("--queues", "default"))  # train_all runs; its children stay queued
    nightly = await _picked(queue, store, "nightly-retrain", products)
    assert nightly == {"new_sold", "new_unsold", "fresh", "old_sold_since", "old_quiet"}
    hourly = await _picked(queue, store, "hourly-stale-retrain", products)
    assert hourly == {"new_sold", "old_sold_since"}
