"""Ridge regression (statsmodels OLS, closed-form ridge) on yearly Fourier terms, weekdays and calendar dummies.

Works on the log1p scale.  The yearly Fourier part is clipped at prediction
time to the range it took on the training days (Fourier terms observed over
only part of a year extrapolate wildly otherwise).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from statsmodels.regression.linear_model import OLS

from .calendar import EventCalendar

EPOCH = pd.Timestamp("1970-01-01")


@dataclass
class RidgeConfig:
    """Design choices (all tunable from the backtest)."""

    fourier: int = 8  # yearly Fourier pairs
    weekday: bool = True  # weekday dummies in the regression
    holiday_as_sunday: bool = True  # a holiday uses Sunday's weekday effect
    halflife_days: float | None = None  # recency weighting (None = equal weights)
    lam_fourier: float = 5.0  # ridge penalty (in effective observations; 10 was 0.001 worse averaged)
    lam_named: float = 0.1  # penalty on named holiday/event columns
    lam_generic: float = 0.5  # penalty on generic hol/lead/lag/promo columns
    lam_weekday: float = 0.1
    weekend_fourier: int = 3  # Fourier pairs interacted with a weekend flag
    lam_interact: float = 20.0
    noise_ref: float = 0.25  # penalties grow by (sigma/noise_ref)^2 for noisier series
    min_named_days: int = 2  # a named holiday/event column needs this many observed days


@dataclass
class RidgeFit:
    columns: list[str]
    coef: list[float]
    fourier_range: tuple[float, float]
    config: dict[str, Any] = field(default_factory=dict)


def _fourier(days: np.ndarray, k: int, prefix: str = "f_") -> dict[str, np.ndarray]:
    t = days / 365.25
    cols = {}
    for j in range(1, k + 1):
        cols[f"{prefix}s{j}"] = np.sin(2 * np.pi * j * t)
        cols[f"{prefix}c{j}"] = np.cos(2 * np.pi * j * t)
    return cols


def design(
    index: pd.DatetimeIndex, cal: EventCalendar, cfg: RidgeConfig, closed: set[dt.date] | None = None
) -> tuple[list[str], np.ndarray]:
    """Column names and design matrix (n x p, no intercept) for a daily ``index``."""
    index = pd.DatetimeIndex(index)
    cal_cols = cal.feature_arrays(index, closed)
    days = (index - EPOCH).days.to_numpy(dtype=float)
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday (3)
    cols: dict[str, np.ndarray] = {}
    if cfg.weekday:
        dow = weekday.copy()
        if cfg.holiday_as_sunday and "hol" in cal_cols:
            dow[cal_cols["hol"] > 0] = 6
        for d in range(6):
            cols[f"dow{d}"] = (dow == d).astype(float)
    cols.update(_fourier(days, cfg.fourier))
    if cfg.weekend_fourier:
        wk = (weekday >= 5).astype(float)
        for name, v in _fourier(days, cfg.weekend_fourier, "wx_").items():
            cols[name] = v * wk
    cols.update(cal_cols)
    names = list(cols)
    X = np.empty((len(index), len(names)))
    for j, c in enumerate(names):
        X[:, j] = cols[c]
    return names, X


def _penalty(col: str, cfg: RidgeConfig) -> float:
    if col.startswith("f_"):
        return cfg.lam_fourier
    if col.startswith("wx_"):
        return cfg.lam_interact
    if col.startswith("dow"):
        return cfg.lam_weekday
    if col.startswith(("h:", "ev:")):
        return cfg.lam_named
    return cfg.lam_generic


def _within(names: list[str], A: np.ndarray, cfg: RidgeConfig) -> tuple[list[str], np.ndarray]:
    """The columns of a wider design (more Fourier pairs) that ``cfg``'s design has."""

    def keep(c: str) -> bool:
        if c.startswith(("f_s", "f_c")):
            return int(c[3:]) <= cfg.fourier
        if c.startswith(("wx_s", "wx_c")):
            return int(c[4:]) <= cfg.weekend_fourier
        return True

    cols = [j for j, c in enumerate(names) if keep(c)]
    return [names[j] for j in cols], A[:, cols]


def fit_ridge(
    y: pd.Series,
    cal: EventCalendar,
    cfg: RidgeConfig,
    closed: set[dt.date] | None = None,
    wide: tuple[list[str], np.ndarray] | None = None,
) -> tuple[RidgeFit, np.ndarray]:
    """Fit on the non-NaN days of ``y`` (log scale).  Returns the fit and in-sample fitted values.

    ``closed`` are the days the shop is shut (history NaN days plus predicted
    closures), for the day-before/after-closure columns.  ``wide``: a design
    with at least ``cfg``'s Fourier pairs, already built for ``y``'s days.
    """
    names, A = _within(*wide, cfg) if wide is not None else design(y.index, cal, cfg, closed)
    v = y.to_numpy(dtype=float)
    obs = ~np.isnan(v)
    # drop calendar columns never active on an observed day (cannot be estimated);
    # a named day seen once is indistinguishable from noise: leave it to the generic columns
    active = A[obs].sum(axis=0)
    keep = [
        j
        for j, c in enumerate(names)
        if c.startswith(("f_", "wx_", "dow"))
        or active[j] >= cfg.min_named_days
        or (active[j] > 0 and not c.startswith(("h:", "ev:")))
    ]
    names = [names[j] for j in keep]
    A = A[:, keep]
    n = len(y)
    lam = np.array([_penalty(c, cfg) for c in names])
    model = _ridge_model(A[obs], v[obs], cfg.halflife_days, n, obs)
    beta = _solve(model, lam)
    # The penalties are tuned for residual noise <= noise_ref (log scale); a
    # noisier series (slow sellers) needs proportionally more shrinkage.
    resid = model.endog - np.einsum("ij,j->i", model.exog, beta)
    sigma = 1.4826 * float(np.median(np.abs(resid - np.median(resid)))) if len(resid) else 0.0
    scale = max(1.0, (sigma / cfg.noise_ref) ** 2)
    if scale > 1.0:
        beta = _solve(model, lam * scale)
    intercept, beta = float(beta[0]), beta[1:]
    fcols = [j for j, c in enumerate(names) if c.startswith("f_")]
    fpart = np.einsum("ij,j->i", A[:, fcols], beta[fcols]) if fcols else np.zeros(n)
    frange = (float(fpart[obs].min()), float(fpart[obs].max())) if obs.any() else (0.0, 0.0)
    fit = RidgeFit(
        columns=["_intercept", *names],
        coef=[intercept, *map(float, beta)],
        fourier_range=frange,
        config={**cfg.__dict__, "penalty_scale": scale},
    )
    return fit, _apply(fit, names, A)


def fit_ridge_average(
    y: pd.Series, cal: EventCalendar, cfgs: list[RidgeConfig], closed: set[dt.date] | None = None
) -> tuple[RidgeFit, RidgeConfig, np.ndarray]:
    """The average of ridge fits that differ in their Fourier orders, as one linear fit.

    Averaging the coefficients averages the log-scale forecasts (a geometric-mean
    forecast combination); the result is a :class:`RidgeFit` of the widest design
    (returned with it) whose yearly part is clipped to the range the averaged part
    took in training, so prediction and drivers read it like a single fit.
    """
    if len(cfgs) == 1:
        fit, fitted = fit_ridge(y, cal, cfgs[0], closed)
        return fit, cfgs[0], fitted
    top = replace(cfgs[0], fourier=max(c.fourier for c in cfgs), weekend_fourier=max(c.weekend_fourier for c in cfgs))
    names, A = design(y.index, cal, top, closed)
    fits = [fit_ridge(y, cal, c, closed, wide=(names, A))[0] for c in cfgs]
    coef: dict[str, float] = {}
    for f in fits:
        for c, b in zip(f.columns, f.coef, strict=True):
            coef[c] = coef.get(c, 0.0) + b / len(fits)
    kept = [n for n in names if n in coef]
    obs = ~np.isnan(y.to_numpy(dtype=float))
    fcols = [j for j, c in enumerate(names) if c.startswith("f_")]
    fpart = np.einsum("ij,j->i", A[:, fcols], np.array([coef.get(names[j], 0.0) for j in fcols]))
    frange = (float(fpart[obs].min()), float(fpart[obs].max())) if obs.any() else (0.0, 0.0)
    fit = RidgeFit(
        columns=["_intercept", *kept],
        coef=[coef["_intercept"], *(coef[n] for n in kept)],
        fourier_range=frange,
        config={**top.__dict__, "variants": [f.config for f in fits]},
    )
    return fit, top, _apply(fit, names, A)


def _ridge_model(X: np.ndarray, y: np.ndarray, halflife: float | None, n: int, obs: np.ndarray) -> OLS:
    """statsmodels OLS on ``[1, X]``; recency weights (if any) enter as sqrt-weighted rows,
    because statsmodels' closed-form ridge reads the unweighted design."""
    Xc = np.column_stack([np.ones(len(y)), X])
    if halflife:
        w = (0.5 ** (np.arange(n - 1, -1, -1, dtype=float) / halflife))[obs]
        r = np.sqrt(w / w.mean())
        return OLS(y * r, Xc * r[:, None])
    return OLS(y, Xc)


def _solve(model: OLS, lam: np.ndarray) -> np.ndarray:
    """Ridge coefficients with an unpenalised intercept.  ``lam`` is the penalty in
    effective observations per column; statsmodels' objective divides the residual
    sum of squares by nobs, so its weight is ``lam / nobs``."""
    alpha = np.concatenate([[1e-12], lam + 1e-9]) / max(model.nobs, 1.0)
    res = model.fit_regularized(method="elastic_net", alpha=alpha, L1_wt=0.0)
    return np.asarray(res.params, dtype=float)


def _apply(fit: RidgeFit, names: list[str], X: np.ndarray) -> np.ndarray:
    coef = dict(zip(fit.columns, fit.coef, strict=False))
    b = np.array([coef.get(c, 0.0) for c in names])
    is_f = np.array([c.startswith("f_") for c in names], dtype=bool)
    out = coef.get("_intercept", 0.0) + np.einsum("ij,j->i", X, np.where(is_f, 0.0, b))
    fpart = np.einsum("ij,j->i", X, np.where(is_f, b, 0.0))
    lo, hi = fit.fourier_range
    values: npt.NDArray[np.float64] = out + np.clip(fpart, lo, hi)
    return values


def predict_ridge(
    fit: RidgeFit, index: pd.DatetimeIndex, cal: EventCalendar, cfg: RidgeConfig, closed: set[dt.date] | None = None
) -> np.ndarray:
    """Regression part for ``index`` with the Fourier part clipped to its training range.

    Calendar columns unseen in training (e.g. a holiday that never occurred
    on an open day) contribute nothing.
    """
    names, X = design(index, cal, cfg, closed)
    return _apply(fit, names, X)
