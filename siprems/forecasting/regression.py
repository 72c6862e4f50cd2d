"""Weighted ridge regression on yearly Fourier terms, weekdays and calendar dummies.

Works on the log1p scale.  The yearly Fourier part is clipped at prediction
time to the range it took on the training days (Fourier terms observed over
only part of a year extrapolate wildly otherwise).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .calendar import EventCalendar

EPOCH = pd.Timestamp("1970-01-01")


@dataclass
class RidgeConfig:
    """Design choices (all tunable from the backtest)."""

    fourier: int = 8            # yearly Fourier pairs
    weekday: bool = True        # weekday dummies in the regression
    holiday_as_sunday: bool = True  # a holiday uses Sunday's weekday effect
    halflife_days: float | None = 365.0  # recency weighting (None = equal)
    lam_fourier: float = 10.0   # ridge penalty (in effective observations)
    lam_named: float = 2.0      # penalty on named holiday/event columns
    lam_generic: float = 0.5    # penalty on generic hol/lead/lag/promo columns
    lam_weekday: float = 0.1
    weekend_fourier: int = 0    # Fourier pairs interacted with a weekend flag
    lam_interact: float = 20.0


@dataclass
class RidgeFit:
    columns: list[str]
    coef: list[float]
    fourier_range: tuple[float, float]
    config: dict = field(default_factory=dict)


def _fourier(index: pd.DatetimeIndex, k: int) -> dict[str, np.ndarray]:
    t = (index - EPOCH).days.to_numpy(dtype=float) / 365.25
    cols = {}
    for j in range(1, k + 1):
        cols[f"f_s{j}"] = np.sin(2 * np.pi * j * t)
        cols[f"f_c{j}"] = np.cos(2 * np.pi * j * t)
    return cols


def design(index: pd.DatetimeIndex, cal: EventCalendar, cfg: RidgeConfig,
           closed: set | None = None) -> pd.DataFrame:
    """Full design matrix for ``index`` (without intercept)."""
    index = pd.DatetimeIndex(index)
    cols: dict[str, np.ndarray] = {}
    cal_df = cal.features(index, closed)
    if cfg.weekday:
        dow = index.dayofweek.to_numpy().copy()
        if cfg.holiday_as_sunday and "hol" in cal_df:
            dow[cal_df["hol"].to_numpy() > 0] = 6
        for d in range(6):
            cols[f"dow{d}"] = (dow == d).astype(float)
    cols.update(_fourier(index, cfg.fourier))
    if cfg.weekend_fourier:
        wk = (index.dayofweek.to_numpy() >= 5).astype(float)
        for name, v in _fourier(index, cfg.weekend_fourier).items():
            cols["wx_" + name] = v * wk
    df = pd.DataFrame(cols, index=index)
    return pd.concat([df, cal_df], axis=1)


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


def fit_ridge(y: pd.Series, cal: EventCalendar, cfg: RidgeConfig,
              closed: set | None = None) -> tuple[RidgeFit, np.ndarray]:
    """Fit on the non-NaN days of ``y`` (log scale).  Returns the fit and in-sample fitted values.

    ``closed`` are the days the shop is shut (history NaN days plus predicted
    closures), for the day-before/after-closure columns.
    """
    X = design(y.index, cal, cfg, closed)
    # drop calendar columns never active on an observed day (cannot be estimated)
    obs = ~np.isnan(y.to_numpy())
    active = [c for c in X.columns if c.startswith(("f_", "wx_", "dow")) or X[c].to_numpy()[obs].any()]
    X = X[active]
    A = X.to_numpy()
    n = len(y)
    if cfg.halflife_days:
        age = np.arange(n - 1, -1, -1, dtype=float)
        w = 0.5 ** (age / cfg.halflife_days)
    else:
        w = np.ones(n)
    w = w[obs]
    w = w / w.mean()
    Ao = A[obs]
    yo = y.to_numpy()[obs]
    # intercept handled by centring (unpenalised)
    xm = (w[:, None] * Ao).sum(0) / w.sum()
    ym = float((w * yo).sum() / w.sum())
    Ac = Ao - xm
    lam = np.array([_penalty(c, cfg) for c in X.columns])
    G = (Ac * w[:, None]).T @ Ac + np.diag(lam + 1e-9)
    beta = np.linalg.solve(G, (Ac * w[:, None]).T @ (yo - ym))
    intercept = ym - float(xm @ beta)
    fcols = [i for i, c in enumerate(X.columns) if c.startswith("f_")]
    fpart = A[:, fcols] @ beta[fcols] if fcols else np.zeros(n)
    frange = (float(fpart[obs].min()), float(fpart[obs].max())) if obs.any() else (0.0, 0.0)
    fit = RidgeFit(columns=["_intercept", *X.columns], coef=[intercept, *map(float, beta)],
                   fourier_range=frange, config=cfg.__dict__.copy())
    return fit, predict_ridge(fit, y.index, cal, cfg, X=X)


def predict_ridge(fit: RidgeFit, index: pd.DatetimeIndex, cal: EventCalendar, cfg: RidgeConfig,
                  X: pd.DataFrame | None = None, closed: set | None = None) -> np.ndarray:
    """Regression part for ``index`` with the Fourier part clipped to its training range."""
    if X is None:
        X = design(index, cal, cfg, closed)
    coef = dict(zip(fit.columns, fit.coef))
    out = np.full(len(index), coef.get("_intercept", 0.0))
    fpart = np.zeros(len(index))
    for c in X.columns:
        b = coef.get(c)
        if b is None:
            continue
        if c.startswith("f_"):
            fpart += X[c].to_numpy() * b
        else:
            out += X[c].to_numpy() * b
    lo, hi = fit.fourier_range
    return out + np.clip(fpart, lo, hi)
