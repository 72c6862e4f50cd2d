"""Per-product model choice by the product's own holdout (last ``holdout`` days).

Each candidate is fitted on the history minus the holdout and scored on it
(MASE scaled by the in-sample weekly seasonal-naive MAE, sMAPE, WAPE, 95%
coverage).  The primary model (``ridge_ets``) is kept unless a cheaper
candidate beats it by more than ``margin`` (relative MASE): a single holdout
is a noisy judge, and on the bakery backtest the primary model wins on
average (picking the holdout winner outright cost ~0.01 MASE).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from . import models
from .calendar import EventCalendar
from .metrics import naive_scale, score
from .series import n_open_days

Candidate = Callable[..., "models.Path"]

CANDIDATES: dict[str, Candidate] = {
    "ridge_ets": models.ridge_ets,
    "seasonal_naive": models.seasonal_naive,
    "weekday_mean": models.weekday_mean,
}
PRIMARY = "ridge_ets"
MIN_HOLDOUT_OBS = 7


def eligible(y: pd.Series) -> list[str]:
    """Candidates that can run on ``y`` (short histories only get the fallback)."""
    n = n_open_days(y)
    if n < models.MIN_HISTORY:
        return ["short_history"]
    return list(CANDIDATES)


def fit_candidate(
    name: str, y: pd.Series, cal: EventCalendar, horizon: int, warm: dict[str, Any] | None = None, explain: bool = False
) -> models.Path:
    """Run one candidate by name (``explain``: keep the drivers of a model that has them)."""
    if name == "short_history":
        return models.short_history(y, cal, horizon)
    if name == "ridge_ets":
        return models.ridge_ets(y, cal, horizon, warm=warm, explain=explain)
    return CANDIDATES[name](y, cal, horizon, warm=warm)


def select_model(
    y: pd.Series,
    cal: EventCalendar,
    *,
    holdout: int = 56,
    candidates: list[str] | None = None,
    margin: float = 0.25,
    warm: dict[str, Any] | None = None,
    fitted: dict[str, dict[str, Any]] | None = None,
) -> tuple[str, dict[str, Any]]:
    """Return ``(chosen name, report)``.

    ``fitted`` (if given) receives each candidate's holdout-fit parameters: the
    final fit on the whole history starts from them (a warm start).

    ``report`` is ``{"selected": name, "holdout_days": n, "holdout": {name: metrics}}``
    (``holdout_days`` 0 and an empty ``holdout`` when no holdout was run).

    The holdout shrinks to 28 days for histories shorter than holdout + 84
    observed days; selection is skipped (primary model) when the history is
    too short to both fit and score.
    """
    names = candidates or eligible(y)
    names = [n for n in names if n in eligible(y)] or eligible(y)
    if len(names) == 1:
        return names[0], _report(names[0], 0, {})
    if n_open_days(y) < holdout + 3 * models.MIN_HISTORY:
        holdout = min(holdout, 28)
    train, test = y.iloc[:-holdout], y.iloc[-holdout:]
    test_obs = n_open_days(test)
    if n_open_days(train) < models.MIN_HISTORY or test_obs < MIN_HOLDOUT_OBS:
        name = PRIMARY if PRIMARY in names else names[0]
        return name, _report(name, 0, {})
    scale = naive_scale(train.to_numpy())
    if not scale or np.isnan(scale):
        scale = float(np.nanmean(np.abs(train.to_numpy()))) or 1.0
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        try:
            path = fit_candidate(name, train, cal, holdout, warm=warm)
        except Exception as exc:  # a failing candidate is simply not chosen
            results[name] = {"error": type(exc).__name__}
            continue
        results[name] = score(test.to_numpy(), path, scale)
        if fitted is not None:
            fitted[name] = path.params
    ok = {n: r for n, r in results.items() if "mase" in r and np.isfinite(r["mase"])}
    if not ok:
        best = PRIMARY if PRIMARY in names else names[0]
    else:
        best = min(ok, key=lambda n: ok[n]["mase"])
        if PRIMARY in ok and best != PRIMARY and ok[best]["mase"] > (1 - margin) * ok[PRIMARY]["mase"]:
            best = PRIMARY
    return best, _report(best, holdout, results)


def _report(name: str, holdout: int, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"selected": name, "holdout_days": holdout, "holdout": results}
