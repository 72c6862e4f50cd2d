"""Forecast accuracy metrics.  NaN actuals (closed days) are never scored."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]  # the engine's daily series and paths


class ScoredPath(Protocol):
    """What `score` reads of a forecast path (`models.Path`)."""

    @property
    def yhat(self) -> Floats: ...
    @property
    def lo95(self) -> Floats: ...
    @property
    def hi95(self) -> Floats: ...


def naive_scale(y: npt.ArrayLike, period: int = 7) -> float:
    """In-sample MAE of the weekly seasonal naive (pairs where both days are observed).

    Returns NaN when there is no such pair.
    """
    v = np.asarray(y, dtype=float)
    if len(v) <= period:
        return float("nan")
    d = np.abs(v[period:] - v[:-period])
    d = d[~np.isnan(d)]
    return float(d.mean()) if len(d) else float("nan")


def _mask(actual: npt.ArrayLike, *arrays: npt.ArrayLike) -> tuple[Floats, list[Floats]]:
    a = np.asarray(actual, dtype=float)
    m = ~np.isnan(a)
    return a[m], [np.asarray(x, dtype=float)[m] for x in arrays]


def mase(actual: npt.ArrayLike, forecast: npt.ArrayLike, scale: float) -> float:
    """Mean absolute error divided by ``scale`` (see :func:`naive_scale`)."""
    a, (f,) = _mask(actual, forecast)
    if len(a) == 0 or not scale or np.isnan(scale):
        return float("nan")
    return float(np.mean(np.abs(a - f)) / scale)


def smape(actual: npt.ArrayLike, forecast: npt.ArrayLike) -> float:
    """Symmetric MAPE in percent; a day with actual = forecast = 0 scores 0."""
    a, (f,) = _mask(actual, forecast)
    if len(a) == 0:
        return float("nan")
    den = np.abs(a) + np.abs(f)
    terms = np.where(den > 0, 2.0 * np.abs(a - f) / np.where(den > 0, den, 1.0), 0.0)
    return float(100.0 * terms.mean())


def wape(actual: npt.ArrayLike, forecast: npt.ArrayLike) -> float:
    """Weighted absolute percentage error: sum |error| / sum |actual|, in percent."""
    a, (f,) = _mask(actual, forecast)
    tot = float(np.abs(a).sum())
    return float(100.0 * np.abs(a - f).sum() / tot) if tot > 0 else float("nan")


def coverage(actual: npt.ArrayLike, lo: npt.ArrayLike, hi: npt.ArrayLike) -> float:
    """Share of scored days inside [lo, hi], in percent."""
    a, (l, h) = _mask(actual, lo, hi)
    if len(a) == 0:
        return float("nan")
    return float(100.0 * np.mean((a >= l) & (a <= h)))


def score(actual: Floats, path: ScoredPath, scale: float) -> dict[str, Any]:
    """All metrics of a :class:`~siprems.forecasting.models.Path` head against ``actual``."""
    n = len(actual)
    return {
        "mase": mase(actual, path.yhat[:n], scale),
        "smape": smape(actual, path.yhat[:n]),
        "wape": wape(actual, path.yhat[:n]),
        "coverage95": coverage(actual, path.lo95[:n], path.hi95[:n]),
        "n": int(np.count_nonzero(~np.isnan(np.asarray(actual, dtype=float)))),
    }
