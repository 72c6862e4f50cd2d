"""The statsmodels engine: models are statsmodels fits, old-engine models keep answering."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from siprems.forecasting import ForecastModel, ets, train
from siprems.forecasting.result import SCHEMA_VERSION

TODAY = dt.date(2017, 1, 2)


def _sales(days: int = 400, seed: int = 3) -> list[tuple[dt.date, float]]:
    rng = np.random.default_rng(seed)
    idx = pd.date_range(end=TODAY - dt.timedelta(days=1), periods=days, freq="D")
    weekly = np.array([1.0, 0.9, 1.0, 1.1, 1.2, 1.6, 0.5])
    vals = 40.0 * weekly[idx.day_of_week.to_numpy()] * np.exp(rng.normal(0, 0.1, days))
    return [(d.date(), float(v)) for d, v in zip(idx, vals, strict=False)]


# A model as the hand-written engine (schema 1) stored it in forecast_models.model.
OLD_ENGINE_MODEL = {
    "version": 1,
    "method": "ridge_ets",
    "start": "2017-01-02",
    "train_start": "2016-01-01",
    "train_end": "2017-01-01",
    "fingerprint": "abc",
    "n_obs": 367,
    "country": "DE",
    "subdiv": "SH",
    "params": {"ets": {"alpha": 0.02, "gamma": 0.01, "phi": 1.0, "level": 0.1, "season": [0.0] * 7, "rmse": [0.2]}},
    "metrics": {"selected": "ridge_ets", "holdout_days": 56, "holdout": {}},
    "path": {k: [10.0 + i for i in range(30)] for k in ("yhat", "lo80", "hi80", "lo95", "hi95")},
}


def test_old_engine_model_keeps_answering_until_retrained():
    old = ForecastModel.from_dict(OLD_ENGINE_MODEL)
    assert old.version == 1
    rows = old.forecast("2017-01-03", 3)
    assert [r["yhat"] for r in rows] == [11.0, 12.0, 13.0]
    # retraining with the old model as the warm start ignores its (incompatible) parameters
    new = train(_sales(), country="DE", subdiv="SH", today=TODAY, horizon=28, warm_start=old)
    d = new.to_dict()
    assert d["version"] == SCHEMA_VERSION == 2
    if new.method == "ridge_ets":
        assert d["params"]["engine"] == "statsmodels"
        assert set(d["params"]["ets"]["params"]) == set(ets.PARAM_NAMES)


def test_ets_is_statsmodels_state_space_and_skips_missing_days():
    rng = np.random.default_rng(0)
    season = np.array([0.3, -0.1, 0.0, 0.1, 0.2, 0.4, -0.9])
    y = np.tile(season, 60) + rng.normal(0, 0.05, 420)
    y[100:130] = np.nan  # a month closed: missing, not zero
    fit = ets.fit_ets(y, 14)
    # the forecast repeats the weekly shape (day 420 is slot 0 again)
    assert np.allclose(fit.mean[:7] - fit.mean[:7].mean(), season - season.mean(), atol=0.05)
    assert fit.sd[-1] >= fit.sd[0] - 1e-6 and 0.03 < fit.sd[0] < 0.1  # predictive sd near the noise (0.05)
    assert set(fit.params) == set(ets.PARAM_NAMES)


def test_warm_start_uses_previous_parameters():
    rng = np.random.default_rng(1)
    y = np.tile([0.2, 0.0, -0.2, 0.1, 0.0, 0.3, -0.4], 50) + rng.normal(0, 0.1, 350)
    cold = ets.fit_ets(y, 7)
    warm = ets.fit_ets(y, 7, warm=cold.to_dict())
    assert warm.params == pytest_approx(cold.params)


def pytest_approx(d: dict) -> dict:
    import pytest

    return {k: pytest.approx(v, abs=0.02) for k, v in d.items()}
