"""Explained forecasts: the fitted model's terms come back as drivers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from siprems.forecasting import ForecastModel, train
from siprems.forecasting.calendar import EventCalendar
from siprems.forecasting.drivers import explain

TODAY = dt.date(2017, 1, 2)
WEEKLY = np.array([1.0, 0.95, 1.0, 1.05, 1.15, 1.5, 0.6])


def _shop(uplift: float, promo_uplift: float = 1.0, seed: int = 5):
    """Three years of a shop whose public holidays (DE-SH) sell ``uplift`` x a normal
    day of the same weekday, and whose "Flash sale" days sell ``promo_uplift`` x."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range(end=TODAY - dt.timedelta(days=1), periods=3 * 365, freq="D")
    hol = {
        d
        for d, n in EventCalendar("DE", "SH").holidays_between(idx[0].date(), TODAY + dt.timedelta(days=365)).items()
        if n not in ("Christmas Eve", "New Year's Eve")
    }
    promo_days = {idx[0].date() + dt.timedelta(days=k) for k in range(20, len(idx), 45)}
    promo_days.add(dt.date(2017, 2, 15))  # a planned one in the horizon
    base = 80.0 * WEEKLY[idx.day_of_week.to_numpy()]
    mult = np.array(
        [(uplift if d.date() in hol else 1.0) * (promo_uplift if d.date() in promo_days else 1.0) for d in idx]
    )
    vals = base * mult * np.exp(rng.normal(0, 0.05, len(idx)))
    events = [{"date": d, "name": "Flash sale", "kind": "promotion"} for d in sorted(promo_days)]
    return [(d.date(), float(v)) for d, v in zip(idx, vals, strict=False)], events


@pytest.fixture(scope="module")
def explained():
    sales, events = _shop(uplift=1.6, promo_uplift=1.3)
    model = train(sales, events=events, country="DE", subdiv="SH", today=TODAY, horizon=365)
    return ForecastModel.from_dict(model.to_dict())  # as stored in the registry


def test_known_holiday_effect_is_reported_with_sign_and_size(explained):
    assert explained.method == "ridge_ets"
    d = explain(explained, "2017-04-10", 14)  # Good Friday 14 Apr, Easter Monday 17 Apr
    by_name = {h["name"]: h for h in d["holidays"]}
    for name, day in (("Good Friday", "2017-04-14"), ("Easter Monday", "2017-04-17")):
        assert by_name[name]["date"] == day
        # +60% on (1 + units): within 40%..80%
        assert 40.0 <= by_name[name]["effect_pct"] <= 80.0, d["holidays"]
    assert any(s.startswith("Good Friday +") and s.endswith("on 2017-04-14") for s in d["summary"])


def test_promotion_and_weekday_drivers(explained):
    d = explain(explained, "2017-02-13", 7)
    (promo,) = d["promotions"]
    assert promo["date"] == "2017-02-15" and promo["name"] == "Flash sale"
    assert 15.0 <= promo["effect_pct"] <= 45.0  # +30%
    wk = {w["day"]: w["effect_pct"] for w in d["weekday"]}
    assert wk["Saturday"] > 20 and wk["Sunday"] < -25  # 1.5x and 0.6x of a ~1x weekday
    assert d["holidays"] == []  # no holiday in that week


def test_a_shop_without_holiday_effect_reports_none_big():
    sales, _ = _shop(uplift=1.0)
    model = train(sales, country="DE", subdiv="SH", today=TODAY, horizon=365, candidates=["ridge_ets"])
    d = explain(model, "2017-04-10", 14)
    assert all(abs(h["effect_pct"]) < 15 for h in d["holidays"]), d["holidays"]


def test_models_without_drivers_explain_nothing():
    sales, _ = _shop(uplift=1.0)
    model = train(sales[-40:], country="DE", subdiv="SH", today=TODAY, horizon=28, candidates=["weekday_mean"])
    assert explain(model, TODAY, 7) is None
