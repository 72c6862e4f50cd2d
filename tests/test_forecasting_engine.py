"""Forecasting engine: known patterns are recovered, short/closed histories behave."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from siprems.forecasting import Event, ForecastModel, train
from siprems.forecasting.calendar import EventCalendar, holiday_names
from siprems.forecasting.series import daily_series

WEEKLY = np.array([1.0, 0.95, 1.0, 1.05, 1.15, 1.5, 0.6])  # Mon..Sun
TODAY = dt.date(2017, 1, 2)  # a Monday


def synthetic(days: int = 3 * 365, uplift: float = 1.8, noise: float = 0.05, seed: int = 1):
    """Daily sales with weekly + yearly pattern and a multiplicative public-holiday uplift (DE-SH)."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range(end=TODAY - dt.timedelta(days=1), periods=days, freq="D")
    cal = EventCalendar("DE", "SH")
    hol = cal.holidays_between(idx[0].date(), TODAY + dt.timedelta(days=400))
    # only the official holidays (not 24/31 Dec) get the uplift
    hol = {d for d, n in hol.items() if n not in ("Christmas Eve", "New Year's Eve")}
    doy = idx.day_of_year.to_numpy()
    yearly = 1.0 + 0.25 * np.sin(2 * np.pi * (doy - 80) / 365.25)  # peak ~ late June
    base = 100.0 * WEEKLY[idx.day_of_week.to_numpy()] * yearly
    up = np.array([uplift if d.date() in hol else 1.0 for d in idx])
    vals = base * up * np.exp(rng.normal(0, noise, days))
    return [(d.date(), float(v)) for d, v in zip(idx, vals, strict=False)], hol


@pytest.fixture(scope="module")
def synth_model():
    sales, hol = synthetic()
    model = train(sales, country="DE", subdiv="SH", today=TODAY, horizon=365)
    return model, hol


def _rows(model, start, days):
    return {dt.date.fromisoformat(r["date"]): r for r in model.forecast(start, days)}


def test_weekly_pattern_recovered(synth_model):
    model, hol = synth_model
    rows = _rows(model, TODAY, 28)
    by_dow: dict[int, list[float]] = {}
    for d, r in rows.items():
        if d not in hol:
            by_dow.setdefault(d.weekday(), []).append(r["yhat"])
    wed = np.mean(by_dow[2])
    assert np.mean(by_dow[5]) / wed == pytest.approx(1.5, rel=0.08)  # Saturday
    assert np.mean(by_dow[6]) / wed == pytest.approx(0.6, rel=0.08)  # Sunday


def test_yearly_pattern_recovered(synth_model):
    model, hol = synth_model
    rows = _rows(model, TODAY, 365)
    june = np.mean([r["yhat"] for d, r in rows.items() if d.month == 6 and d not in hol])
    dec = np.mean([r["yhat"] for d, r in rows.items() if d.month == 12 and d not in hol])
    true_ratio = (1 + 0.25 * np.sin(2 * np.pi * (171 - 80) / 365.25)) / (
        1 + 0.25 * np.sin(2 * np.pi * (350 - 80) / 365.25)
    )
    assert june / dec == pytest.approx(true_ratio, rel=0.1)


def test_holiday_uplift_recovered(synth_model):
    model, hol = synth_model
    rows = _rows(model, TODAY, 365)
    ratios = []
    for d in sorted(hol):
        if d < TODAY or d - dt.timedelta(days=7) not in rows or d + dt.timedelta(days=7) not in rows:
            continue
        ref = [rows[d + dt.timedelta(days=k)]["yhat"] for k in (-7, 7) if d + dt.timedelta(days=k) not in hol]
        if ref:
            ratios.append(rows[d]["yhat"] / np.mean(ref))
    assert len(ratios) >= 6
    assert np.median(ratios) == pytest.approx(1.8, rel=0.2)


def test_interval_order_and_nonnegative(synth_model):
    model, _ = synth_model
    p = model.path
    for k in range(model.horizon):
        assert 0.0 <= p["lo95"][k] <= p["lo80"][k] <= p["yhat"][k] <= p["hi80"][k] <= p["hi95"][k]


@pytest.mark.parametrize("n_days", [0, 1, 3])
def test_tiny_history_never_raises(n_days):
    sales = [(TODAY - dt.timedelta(days=i + 1), 10.0 + i) for i in range(n_days)]
    model = train(sales, today=TODAY, horizon=30)
    assert model.method == "short_history"
    assert model.n_obs == n_days
    assert model.horizon == 30
    rows = model.forecast(TODAY, 7)
    assert len(rows) == 7
    if n_days == 0:
        assert all(r["yhat"] == 0.0 for r in rows)
    else:
        r = rows[0]
        assert 8.0 <= r["yhat"] <= 13.0
        assert r["hi95"] >= 2.5 * r["yhat"]  # honestly wide
        assert r["lo95"] <= 0.5 * r["yhat"]
    json.dumps(model.to_dict(), allow_nan=False)


def test_short_history_becomes_model_at_28_days():
    sales = [(TODAY - dt.timedelta(days=i + 1), 20.0 + (i % 7)) for i in range(28)]
    assert train(sales, today=TODAY, horizon=14).method != "short_history"


def test_closed_days_are_missing_not_zero():
    days = pd.date_range(end=TODAY - dt.timedelta(days=1), periods=400, freq="D")
    rng = np.random.default_rng(3)
    sales, closed = [], []
    for d in days:
        if d.day_of_week == 6:
            closed.append(d.date())  # closed every Sunday: no rows
        else:
            sales.append((d.date(), 100.0 * np.exp(rng.normal(0, 0.05))))
    model = train(sales, closed_days=closed, country=None, today=TODAY, horizon=28)
    rows = _rows(model, TODAY, 28)
    open_days = [r["yhat"] for d, r in rows.items() if d.weekday() != 6]
    assert np.mean(open_days) == pytest.approx(100.0, rel=0.06)
    assert min(open_days) > 80.0
    # Sundays are predicted closed (zero demand), not averaged into the level
    assert all(r["yhat"] == 0.0 for d, r in rows.items() if d.weekday() == 6)
    # the same data with Sundays as zero sales would drag a plain mean to ~86
    assert np.mean(open_days) > 95.0


def test_daily_series_closed_nan_open_zero():
    y = daily_series(
        [(dt.date(2024, 1, 1), 3), (dt.date(2024, 1, 1), 2), (dt.date(2024, 1, 4), 1)],
        closed_days=[dt.date(2024, 1, 3)],
    )
    assert list(y.index.date) == [dt.date(2024, 1, d) for d in range(1, 5)]
    assert y.iloc[0] == 5 and y.iloc[1] == 0 and np.isnan(y.iloc[2]) and y.iloc[3] == 1


def test_store_closed_event_gives_zero_forecast():
    sales, _ = synthetic(days=200)
    closed_day = TODAY + dt.timedelta(days=3)
    model = train(
        sales,
        events=[Event(closed_day, "renovation", "store-closed")],
        country="DE",
        subdiv="SH",
        today=TODAY,
        horizon=14,
    )
    rows = _rows(model, TODAY, 14)
    assert rows[closed_day]["yhat"] == 0.0
    assert rows[closed_day + dt.timedelta(days=7)]["yhat"] > 50.0


def test_promotion_event_uplift_learned():
    sales, _ = synthetic(days=500, uplift=1.0)
    promo_days = [d for d, _ in sales if d.day == 15] + [TODAY + dt.timedelta(days=12)]
    sales = [(d, v * 1.5 if d.day == 15 else v) for d, v in sales]
    events = [Event(d, "payday promo", "promotion") for d in promo_days]
    model = train(sales, events=events, country=None, today=TODAY, horizon=28)
    rows = _rows(model, TODAY, 28)
    d = TODAY + dt.timedelta(days=12)
    assert rows[d]["yhat"] / rows[d - dt.timedelta(days=7)]["yhat"] == pytest.approx(1.5, rel=0.15)


def test_round_trip_json_safe(synth_model):
    model, _ = synth_model
    d = model.to_dict()
    text = json.dumps(d, allow_nan=False)
    try:
        import orjson

        assert orjson.loads(orjson.dumps(d)) == d
    except ImportError:  # orjson is optional here
        pass
    back = ForecastModel.from_dict(json.loads(text))
    assert back.to_dict() == d
    assert back.forecast(TODAY, 5) == model.forecast(TODAY, 5)
    for key in ("method", "params", "metrics", "train_start", "train_end", "fingerprint", "path"):
        assert key in d
    assert len(d["path"]["yhat"]) == 365


def test_forecast_reads_stored_path_and_extends(synth_model):
    model, _ = synth_model
    rows = model.forecast(TODAY - dt.timedelta(days=3), 5)
    assert [r["date"] for r in rows] == [(TODAY + dt.timedelta(days=k)).isoformat() for k in range(2)]
    beyond = model.forecast(TODAY + dt.timedelta(days=400), 3)
    assert len(beyond) == 3
    same_day_last_year = model.forecast(TODAY + dt.timedelta(days=400 - 364), 1)[0]
    assert beyond[0]["yhat"] == pytest.approx(same_day_last_year["yhat"])
    assert beyond[0]["hi95"] - beyond[0]["lo95"] >= same_day_last_year["hi95"] - same_day_last_year["lo95"]


def test_warm_start_and_fingerprint(synth_model):
    model, _ = synth_model
    sales, _ = synthetic()
    again = train(sales, country="DE", subdiv="SH", today=TODAY, horizon=30, warm_start=model.to_dict())
    assert again.fingerprint == model.fingerprint
    assert again.method == model.method
    assert np.allclose(again.path["yhat"][:30], model.path["yhat"][:30], rtol=0.05)


def test_holdout_metrics_reported(synth_model):
    model, _ = synth_model
    m = model.metrics
    assert m["selected"] == model.method and m["holdout_days"] == 56
    assert set(m["holdout"]) == {"ridge_ets", "seasonal_naive", "weekday_mean"}
    for _name, met in m["holdout"].items():
        assert {"mase", "smape", "wape", "coverage95"} <= set(met)
    assert m["holdout"][model.method]["mase"] < 1.0


def test_holiday_names_for_charts():
    rows = holiday_names("2016-12-23", "2016-12-27", country="DE", subdiv="SH")
    names = {r["date"]: r["holidayName"] for r in rows}
    assert names["2016-12-24"] == "Christmas Eve"
    assert names["2016-12-25"] and rows[0]["isHoliday"] is False
    assert holiday_names("2025-08-17", "2025-08-17")[0]["isHoliday"]  # ID default
    ev = holiday_names("2025-01-05", "2025-01-05", events=[{"date": "2025-01-05", "name": "Sale"}])
    assert ev[0]["holidayName"] == "Sale"


def test_calendar_lead_lag_and_closure_columns():
    cal = EventCalendar("DE", "SH")
    idx = pd.date_range("2016-12-22", "2016-12-28", freq="D")
    f = cal.features(idx, closed={dt.date(2016, 12, 25), dt.date(2016, 12, 26)})
    assert f.loc["2016-12-23", "hol_m1"] == 1  # day before Christmas Eve
    assert f.loc["2016-12-27", "hol_p1"] == 1
    assert f.loc["2016-12-24", "closed_m1"] == 1 and f.loc["2016-12-27", "closed_p1"] == 1
    assert f.loc["2016-12-24", "h:christmas_eve"] == 1


def test_intermittent_seller_forecasts_mean_not_zero():
    rng = np.random.default_rng(7)
    sales = [(TODAY - dt.timedelta(days=i + 1), float(rng.poisson(0.5))) for i in range(300)]
    model = train(sales, today=TODAY, horizon=28)
    total = model.total(TODAY, 28)
    assert 0.6 * 14 <= total <= 1.5 * 14  # true expected demand 28 * 0.5 = 14


def test_week_before_and_estimated_holiday_names():
    from siprems.forecasting.calendar import canonical

    assert canonical("Eid al-Fitr (estimated)") == "Eid al-Fitr"
    cal = EventCalendar("DE", "SH")
    f = cal.features(pd.date_range("2016-12-15", "2016-12-20", freq="D"))
    assert f["h:christmas_day:wk"].tolist() == [0, 0, 0, 1, 1, 1]  # 18..20 Dec: 7..5 days before
