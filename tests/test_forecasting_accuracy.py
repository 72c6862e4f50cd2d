"""Forecasts tracked against what sold: the job's figures equal an independent computation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from siprems.calendar.locale import store_locale
from siprems.db import create_pool
from siprems.forecasting import ForecastModel, accuracy, registry
from support_sales import add_product, store_of

HOLDOUT_MASE = 0.3


def _model(start: date, yhat: np.ndarray, width: float) -> dict:
    path = {
        "yhat": yhat.tolist(),
        "lo80": (yhat - width).tolist(),
        "hi80": (yhat + width).tolist(),
        "lo95": (yhat - 2 * width).tolist(),
        "hi95": (yhat + 2 * width).tolist(),
    }
    metrics = {"selected": "ridge_ets", "holdout_days": 56, "holdout": {"ridge_ets": {"mase": HOLDOUT_MASE}}}
    return ForecastModel("ridge_ets", start.isoformat(), None, None, "", 100, path, metrics=metrics).to_dict()


def _insert_sales(db, store_id: int, product_id: int, units: dict[date, int], zone: ZoneInfo) -> None:
    rows = [
        (store_id, product_id, q, 10000, datetime.combine(d, datetime.min.time(), zone) + timedelta(hours=12))
        for d, q in units.items()
        if q > 0
    ]
    with db.cursor() as cur:
        cur.executemany(
            """INSERT INTO transactions (store_id, product_id, quantity_sold, price_per_unit, transaction_date)
               VALUES (%s, %s, %s, %s, %s)""",
            rows,
        )


async def test_accuracy_job_matches_an_independent_computation(stack, user, db):
    store_id = store_of(db, user)
    product = add_product(db, store_id, stock=50)
    pid = product["product_id"]
    rng = np.random.default_rng(11)
    pool = await create_pool(stack.database_url, maxsize=2)
    try:
        store = await store_locale(pool, store_id)
        zone, today = ZoneInfo(store.timezone), store.today()
        first = today - timedelta(days=28)
        days = [today - timedelta(days=k) for k in range(400, 0, -1)]
        units = {d: int(rng.poisson(20 + 8 * (d.weekday() >= 5))) for d in days}
        units[today - timedelta(days=5)] = 0  # nothing to sell
        _insert_sales(db, store_id, pid, units, zone)
        # out of stock from 6 days ago (ran out) to 4 days ago (delivery): not scored
        with db.cursor() as cur:
            for kind, delta, balance, k in (("sale", -50, 0, 6), ("receipt", 30, 30, 4)):
                when = datetime.combine(today - timedelta(days=k), datetime.min.time(), zone) + timedelta(hours=20)
                cur.execute(
                    """INSERT INTO stock_movements (store_id, product_id, kind, delta, balance_after, created_at)
                       VALUES (%s, %s, %s, %s, %s, %s)""",
                    (store_id, pid, kind, delta, balance, when.astimezone(UTC)),
                )
        # two model versions: one made 40 days ago, a newer one 10 days ago (far off: drift)
        old_path = np.full(120, 21.0)
        new_path = np.full(120, 45.0)
        await registry.save(
            pool,
            store_id=store_id,
            product_id=pid,
            model=_model(today - timedelta(days=40), old_path, 4.0),
            run_id="a1",
        )
        await registry.save(
            pool,
            store_id=store_id,
            product_id=pid,
            model=_model(today - timedelta(days=10), new_path, 4.0),
            run_id="a2",
        )
        summary = await accuracy.track_store(pool, store_id, today=today)
        again = await accuracy.track_store(pool, store_id, today=today)  # idempotent
    finally:
        pool.close()
        await pool.wait_closed()

    # independent computation
    censored = {today - timedelta(days=k) for k in (6, 5, 4)}
    window = [first + timedelta(days=k) for k in range(28) if first + timedelta(days=k) not in censored]
    f = np.array([45.0 if d >= today - timedelta(days=10) else 21.0 for d in window])
    a = np.array([units[d] for d in window], dtype=float)
    hist_days = [d for d in days if d < first]
    h = np.array([units[d] for d in hist_days][-365:], dtype=float)
    scale = np.mean(np.abs(h[7:] - h[:-7]))
    mase = np.mean(np.abs(a - f)) / scale
    wape = 100 * np.abs(a - f).sum() / a.sum()
    cov80 = 100 * np.mean((a >= f - 4) & (a <= f + 4))
    cov95 = 100 * np.mean((a >= f - 8) & (a <= f + 8))

    assert summary["products"] == 1 and again["products"] == 1
    with db.cursor() as cur:
        cur.execute("SELECT * FROM forecast_accuracy WHERE product_id = %s", (pid,))
        row = cur.fetchone()
        cur.execute("SELECT count(*) AS n FROM forecast_outcomes WHERE product_id = %s", (pid,))
        stored = cur.fetchone()["n"]
    assert row["days_scored"] == len(window) == 25 and stored == 25
    assert abs(row["mase"] - mase) < 1e-9
    assert abs(row["wape"] - wape) < 1e-9
    assert abs(row["coverage80"] - cov80) < 1e-9 and abs(row["coverage95"] - cov95) < 1e-9
    want_drift = bool(mase > 1.5 * HOLDOUT_MASE and mase > HOLDOUT_MASE + 0.25)
    assert row["drift"] is want_drift and want_drift  # the far-off newer model drifts
    assert row["model_version"] == 2 and row["holdout_mase"] == HOLDOUT_MASE

    # the endpoints serve the same figures, and only to the owner
    r = user.get("/api/predict/accuracy")
    assert r.status_code == 200, r.text
    (item,) = [i for i in r.json()["items"] if i["sku"] == product["sku"]]
    assert item["days_scored"] == 25 and item["mase"] == round(mase, 3) and item["drift"] is True
    assert product["sku"] in r.json()["store"]["drifting"]
    s = user.get(f"/api/predict/model/{product['sku']}/status")
    assert s.status_code == 200, s.text
    body = s.json()
    assert body["model"]["version"] == 2 and body["model"]["method"] == "ridge_ets"
    assert body["model"]["holdout"]["mase"] == HOLDOUT_MASE and body["model"]["data_points"] == 100
    assert body["live"]["wape"] == round(wape, 1) and body["drift"] is True
    assert user.get("/api/predict/model/NOPE-404/status").status_code == 404
    r = user.get("/api/predict/accuracy", params={"bogus": "1"})
    assert r.status_code == 400 and r.json()["error"]


def test_another_store_cannot_see_the_status(user, make_user, db):
    product = add_product(db, store_of(db, user))
    other = make_user()
    r = other.get(f"/api/predict/model/{product['sku']}/status")
    assert r.status_code == 404 and r.json()["error"]
    assert user.get(f"/api/predict/model/{product['sku']}/status").json()["model"] is None
