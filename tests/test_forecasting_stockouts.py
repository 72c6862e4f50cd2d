"""Stock-outs are censored demand: missing days for training, not zero demand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from siprems.calendar.locale import store_locale
from siprems.forecasting import stockout_days, train

TODAY = dt.date(2017, 1, 2)
WEEKLY = np.array([1.0, 0.9, 1.0, 1.1, 1.3, 1.5, 0.7])
LEVEL = 30.0


def _demand(days: int, seed: int = 7) -> pd.Series:
    rng = np.random.default_rng(seed)
    idx = pd.date_range(end=TODAY - dt.timedelta(days=1), periods=days, freq="D")
    mean = LEVEL * WEEKLY[idx.day_of_week.to_numpy()]
    return pd.Series(rng.poisson(mean).astype(float), index=idx)


def _with_stockouts(demand: pd.Series, every: int = 21, length: int = 6):
    """Sales = demand except in stock-out spells: the first day sells a third of
    its demand (the stock ran out), the next days sell nothing, the last day is
    the delivery (restocked in the evening: nothing sold). Returns (sales,
    stock-out days, the ledger's intervals as days)."""
    sales = demand.copy()
    out_days: set[dt.date] = set()
    intervals: list[tuple[dt.date, dt.date | None]] = []
    for start in range(10, len(demand) - length, every):
        first = demand.index[start].date()
        sales.iloc[start] = np.floor(demand.iloc[start] / 3)
        sales.iloc[start + 1 : start + length] = 0.0
        out_days.update(first + dt.timedelta(days=k) for k in range(length))
        intervals.append((first, first + dt.timedelta(days=length - 1)))
    # the last spell is still open at the end of the history
    last = demand.index[-4].date()
    sales.iloc[-4] = np.floor(demand.iloc[-4] / 3)
    sales.iloc[-3:] = 0.0
    out_days.update(last + dt.timedelta(days=k) for k in range(4))
    intervals.append((last, None))
    return sales, out_days, intervals


def test_stockout_days_from_ledger_intervals():
    d = dt.date(2024, 3, 1)
    day = [d + dt.timedelta(days=k) for k in range(12)]
    intervals = [(day[4], day[7]), (day[9], None)]
    assert stockout_days(intervals, until=day[11]) == {day[k] for k in (4, 5, 6, 7, 9, 10, 11)}
    # sales on the day it ran out / came back are normal; sales inside an interval mean the
    # interval is the ledger's opening balance over older history: ignored, not censoring sales
    assert stockout_days(intervals, until=day[11], sold_on=[day[4], day[7], day[9]]) == {
        day[k] for k in (4, 5, 6, 7, 9, 10, 11)
    }
    assert stockout_days([(day[0], None)], until=day[11], sold_on=[day[5]]) == set()


def test_synthetic_series_intervals_match_known_stockouts():
    demand = _demand(420)
    sales, out_days, intervals = _with_stockouts(demand)
    sold = [d.date() for d, v in sales.items() if v > 0]
    assert stockout_days(intervals, until=TODAY - dt.timedelta(days=1), sold_on=sold) == out_days


def test_stockouts_are_missing_not_zero_demand():
    demand = _demand(420)
    sales, _, intervals = _with_stockouts(demand)
    sold = [d.date() for d, v in sales.items() if v > 0]
    censored = stockout_days(intervals, until=TODAY - dt.timedelta(days=1), sold_on=sold)
    pairs = [(d.date(), float(v)) for d, v in sales.items()]
    naive = train(pairs, country=None, today=TODAY, horizon=28)
    aware = train(pairs, country=None, today=TODAY, horizon=28, stockout_days=censored)
    true_total = float(sum(LEVEL * WEEKLY[(TODAY + dt.timedelta(days=k)).weekday()] for k in range(28)))
    aware_total = aware.total(TODAY, 28)
    naive_total = naive.total(TODAY, 28)
    # the censored days are reported and left out of training
    assert aware.metrics["stockout_days"] == len([d for d in censored if d < TODAY])
    assert aware.n_obs == naive.n_obs - aware.metrics["stockout_days"]
    # trained on the observed days only, the forecast is the true demand (within 8%);
    # reading the stock-outs as zero sales biases it down by far more
    assert abs(aware_total / true_total - 1.0) < 0.08, (aware_total, true_total)
    assert naive_total < 0.9 * true_total, (naive_total, true_total)
    # an open stock-out at the end is not a closure: the next days are forecast, not zero
    assert all(r["yhat"] > 0.5 * LEVEL * 0.7 for r in aware.forecast(TODAY, 7))


async def test_training_reads_stockouts_from_the_stock_ledger(stack, user, db):
    """The training inputs of a product carry the ledger's stock-out days (store-local dates)."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from siprems.db import create_pool
    from siprems.forecasting import service
    from support_sales import add_product, add_sale, store_of

    store_id = store_of(db, user)
    product = add_product(db, store_id, stock=0)
    pid = product["product_id"]
    zone = ZoneInfo("Asia/Jakarta")
    today = datetime.now(zone).date()

    def noon(days_ago: int) -> datetime:
        return datetime.combine(today - timedelta(days=days_ago), datetime.min.time(), zone) + timedelta(hours=12)

    for k in range(30, 0, -1):
        if not 11 <= k <= 13:  # nothing sold while out of stock
            add_sale(db, store_id, pid, 3, 10000, noon(k))
    with db.cursor() as cur:
        cur.execute("DELETE FROM stock_movements WHERE product_id = %s", (pid,))
        rows = [
            ("opening", 60, 60, noon(31)),
            ("sale", -57, 3, noon(15)),
            ("sale", -3, 0, noon(14)),  # ran out 14 days ago
            ("receipt", 40, 40, noon(10) - timedelta(hours=4)),  # back 10 days ago
            ("sale", -40, 0, noon(1)),  # ran out again yesterday: still out
        ]
        for kind, delta, balance, when in rows:
            cur.execute(
                """INSERT INTO stock_movements (store_id, product_id, kind, delta, balance_after, created_at)
                   VALUES (%s, %s, %s, %s, %s, %s)""",
                (store_id, pid, kind, delta, balance, when.astimezone(UTC)),
            )
    pool = await create_pool(stack.database_url, maxsize=2)
    try:
        store = await store_locale(pool, store_id)
        inputs = await service.training_inputs(pool, store, pid)
    finally:
        pool.close()
        await pool.wait_closed()
    want = {today - timedelta(days=k) for k in (14, 13, 12, 11, 10, 1)}
    assert inputs["stockout_days"] == want
