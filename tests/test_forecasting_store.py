"""Store-level forecast: totals with intervals from aggregated variances, not summed bounds."""

from __future__ import annotations

import datetime as dt
import math

from siprems.calendar.locale import store_locale
from siprems.db import create_pool
from siprems.forecasting import ForecastModel, registry
from siprems.forecasting.store_forecast import ProductPath, aggregate
from support_sales import add_product, store_of

Z95 = 1.959963984540054


def _rows(first: dt.date, days: int, mean: float, sd: float) -> list[dict]:
    return [
        {
            "date": (first + dt.timedelta(days=k)).isoformat(),
            "yhat": mean,
            "lo80": mean - 1.2815515655446004 * sd,
            "hi80": mean + 1.2815515655446004 * sd,
            "lo95": mean - Z95 * sd,
            "hi95": mean + Z95 * sd,
        }
        for k in range(days)
    ]


def test_totals_add_variances_not_bounds():
    first = dt.date(2027, 3, 1)
    paths = [ProductPath(1000.0, _rows(first, 7, 10.0, 2.0)), ProductPath(3000.0, _rows(first, 7, 5.0, 1.0))]
    out = aggregate(paths, first, 7)
    sd_units = math.sqrt(7 * (2.0**2 + 1.0**2))
    assert out["units"]["predicted"] == 105.0
    assert abs(out["units"]["upper"] - (105 + Z95 * sd_units)) < 0.01
    assert abs(out["units"]["lower"] - (105 - Z95 * sd_units)) < 0.01
    summed_upper = sum(r["hi95"] for p in paths for r in p.rows)
    assert out["units"]["upper"] < summed_upper - 25  # 116.6 against 146.2
    sd_rev = math.sqrt(7 * (1000.0**2 * 4.0 + 3000.0**2 * 1.0))
    assert out["revenue"]["predicted"] == 175000.0
    assert abs(out["revenue"]["upper"] - (175000 + Z95 * sd_rev)) < 0.01
    (day0, *_rest) = out["daily"]
    assert day0["date"] == "2027-03-01" and day0["units"]["predicted"] == 15.0
    assert abs(day0["units"]["upper"] - (15 + Z95 * math.sqrt(5.0))) < 0.01


async def test_store_forecast_endpoint(stack, user, db):
    store_id = store_of(db, user)
    a = add_product(db, store_id, price="2000.00")
    b = add_product(db, store_id, price="5000.00")
    add_product(db, store_id)  # no model: counted, left out
    pool = await create_pool(stack.database_url, maxsize=2)
    try:
        today = (await store_locale(pool, store_id)).today()
        for p, mean, sd in ((a, 8.0, 2.0), (b, 3.0, 1.5)):
            rows = _rows(today, 60, mean, sd)
            path = {k: [r[k] for r in rows] for k in ("yhat", "lo80", "hi80", "lo95", "hi95")}
            model = ForecastModel("ridge_ets", today.isoformat(), None, None, "", 90, path).to_dict()
            await registry.save(pool, store_id=store_id, product_id=p["product_id"], model=model, run_id=None)
    finally:
        pool.close()
        await pool.wait_closed()
    r = user.get("/api/predict/store", params={"days": 14})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["products_forecast"] == 2 and body["products_without_model"] == 1 and len(body["daily"]) == 14
    assert body["units"]["predicted"] == 14 * 11.0
    sd = math.sqrt(14 * (2.0**2 + 1.5**2))
    assert abs(body["units"]["upper"] - (154 + Z95 * sd)) < 0.02
    assert body["revenue"]["predicted"] == 14 * (8 * 2000 + 3 * 5000)
    assert user.get("/api/predict/store", params={"days": 0}).status_code == 400
    assert user.get("/api/predict/store", params={"days": "x"}).json()["error"]
