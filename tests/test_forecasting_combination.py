"""The accuracy changes of the statsmodels engine: averaged ridge variants, DE shopping days, ETS start grid."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd

from siprems.forecasting import ets, models, regression
from siprems.forecasting.calendar import EventCalendar, shopping_days


def _log_series(days: int = 3 * 365, seed: int = 5) -> pd.Series:
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2014-01-01", periods=days, freq="D")
    t = np.arange(days) / 365.25
    weekly = np.array([0.0, -0.1, 0.0, 0.1, 0.2, 0.4, -0.3])[idx.day_of_week.to_numpy()]
    v = 4.0 + 0.3 * np.sin(2 * np.pi * t) + 0.1 * np.cos(4 * np.pi * t) + weekly + rng.normal(0, 0.15, days)
    return pd.Series(v, index=idx)


def test_averaged_ridge_is_the_mean_of_its_variants():
    y = _log_series()
    cal = EventCalendar("DE", "SH")
    cfgs = [replace(regression.RidgeConfig(), fourier=k, weekend_fourier=w) for k, w in ((2, 1), (6, 4), (10, 5))]
    fit, top, fitted = regression.fit_ridge_average(y, cal, cfgs, set())
    singles = [regression.fit_ridge(y, cal, c, set()) for c in cfgs]
    # every day observed: no Fourier clipping in sample, so the log-scale fit is the plain mean
    assert np.allclose(fitted, np.mean([f for _, f in singles], axis=0))
    assert (top.fourier, top.weekend_fourier) == (10, 5)
    idx = pd.date_range(y.index[-1] + pd.Timedelta(days=1), periods=60, freq="D")
    pred = regression.predict_ridge(fit, idx, cal, top)
    each = [regression.predict_ridge(f, idx, cal, c) for (f, _), c in zip(singles, cfgs, strict=True)]
    assert np.allclose(pred, np.mean(each, axis=0), atol=0.02)  # up to the clipping of each yearly part


def test_ridge_ets_uses_all_variants_and_recovers_the_weekly_shape():
    y = np.expm1(_log_series())
    path = models.ridge_ets(y, EventCalendar(None), 14)  # no holidays: plain weekdays
    cols = path.params["ridge"]["columns"]
    assert "f_s10" in cols and "wx_s5" in cols  # the widest variant's design
    ratio = path.yhat[:7] / path.yhat[:7].mean()
    days = pd.date_range(y.index[-1] + pd.Timedelta(days=1), periods=7, freq="D").day_of_week.to_numpy()
    saturday, sunday = int(np.flatnonzero(days == 5)[0]), int(np.flatnonzero(days == 6)[0])
    assert ratio[saturday] > 1.2 > 0.9 > ratio[sunday]


def test_german_shopping_days_move_and_get_only_their_own_column():
    d16, d17 = shopping_days("DE", 2016), shopping_days("DE", 2017)
    assert d16[dt.date(2016, 12, 18)] == "Advent Sunday 4"
    assert d16[dt.date(2016, 11, 27)] == "Advent Sunday 1"
    assert d17[dt.date(2017, 4, 15)] == "Holy Saturday"
    assert d17[dt.date(2017, 4, 16)] == "Easter Sunday"
    assert d17[dt.date(2017, 6, 4)] == "Pentecost Sunday"
    assert d17[dt.date(2017, 5, 14)] == "Mother's Day"
    assert shopping_days("ID", 2017) == {}
    idx = pd.date_range("2016-12-10", "2016-12-20", freq="D")
    cols = EventCalendar("DE", "SH").feature_arrays(idx)
    i = list(idx).index(pd.Timestamp("2016-12-18"))
    assert cols["h:advent_sunday_4"][i] == 1.0 and cols["h:advent_sunday_4"].sum() == 1.0
    assert cols["hol"][i] == 0.0 and cols["hol_m1"][i - 1] == 0.0  # not a holiday: no generic columns
    assert EventCalendar("DE", "SH").predict_closed(pd.Series(1.0, index=idx[:5]), idx[5:]) == set()


def test_ets_start_grid_lies_inside_the_bounds():
    (lo_l, hi_l), (lo_s, hi_s) = ets._FIT_BOUNDS
    grid = ets._grid()
    assert grid and all(lo_l <= a <= hi_l and lo_s <= g <= hi_s for a, g in grid)


def test_short_history_fits_variants_that_coincide_once(monkeypatch):
    y = np.expm1(_log_series(days=80))  # under 90 days: no yearly terms in any variant
    seen: list[int] = []
    real = regression.fit_ridge_average

    def spy(y, cal, cfgs, closed=None):
        seen.append(len(cfgs))
        return real(y, cal, cfgs, closed)

    monkeypatch.setattr(models, "fit_ridge_average", spy)
    path = models.ridge_ets(y, EventCalendar(None), 7)
    assert seen == [1] and np.all(np.isfinite(path.yhat))
