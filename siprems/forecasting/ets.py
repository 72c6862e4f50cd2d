"""Small additive exponential smoothing (ETS(A,N,A) / ETS(A,Ad,A)) that skips missing days.

Written out instead of using statsmodels because (a) it must skip NaN days
(closed shop, off-season) without imputing them, (b) it is ~5x faster for the
short grids we need, and (c) warm starts are trivial.  States: level ``l``,
optional damped slope ``b`` and ``period`` seasonal states.  Missing days
advance time but do not update states.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

ALPHAS = (0.01, 0.03, 0.06, 0.1, 0.15, 0.25)
GAMMAS = (0.0, 0.02, 0.05, 0.1)


@dataclass
class EtsFit:
    """Fitted smoothing parameters and the final states."""

    alpha: float
    gamma: float
    phi: float = 0.0
    beta: float = 0.0
    sigma2: float = 0.0
    period: int = 7
    level: float = 0.0
    slope: float = 0.0
    season: list[float] = field(default_factory=list)
    # index (0..period-1) of the season state used by the first forecast day
    phase: int = 0

    def to_dict(self) -> dict:
        return {k: (list(map(float, v)) if isinstance(v, list) else v) for k, v in asdict(self).items()}


def _initial(y: np.ndarray, period: int) -> tuple[float, list[float]]:
    """Initial level and seasonal states from the first few observed weeks."""
    n0 = min(len(y), period * 4)
    head = y[:n0]
    obs = head[~np.isnan(head)]
    level = float(obs.mean()) if len(obs) else 0.0
    season = [0.0] * period
    for k in range(period):
        vals = head[k::period]
        vals = vals[~np.isnan(vals)]
        if len(vals):
            season[k] = float(vals.mean()) - level
    mean_s = sum(season) / period
    return level, [s - mean_s for s in season]


def _run(y: list, alpha: float, gamma: float, beta: float, phi: float, period: int,
         level: float, season: list[float]):
    """One pass: returns (sse, n_obs, level, slope, season)."""
    s = list(season)
    l = level
    b = 0.0
    sse = 0.0
    n = 0
    k = 0
    for v in y:
        f = l + phi * b + s[k]
        if v == v:  # not NaN
            e = v - f
            sse += e * e
            n += 1
            l = l + phi * b + alpha * e
            b = phi * b + beta * e
            s[k] += gamma * e
        else:
            l = l + phi * b
            b = phi * b
        k += 1
        if k == period:
            k = 0
    return sse, n, l, b, s


def fit_ets(y: np.ndarray, period: int = 7, damped: bool = False, warm: dict | None = None,
            alphas=ALPHAS, gammas=GAMMAS) -> EtsFit:
    """Choose alpha/gamma (and beta for a damped slope) by one-step SSE on a small grid.

    ``warm`` (a previous :meth:`EtsFit.to_dict`) narrows the grid to the
    neighbours of the previous choice.  Works for any length >= 1.
    """
    y = np.asarray(y, dtype=float)
    level, season = _initial(y, period)
    if warm:
        alphas = sorted({a for a in alphas if 0.5 * warm["alpha"] <= a <= 2.0 * warm["alpha"] + 1e-9}
                        | {float(warm["alpha"])})
        gammas = sorted({g for g in gammas if g <= 2.0 * warm["gamma"] + 0.02} | {float(warm["gamma"])})
    ys = y.tolist()
    phi, betas = (0.9, (0.0, 0.01, 0.03)) if damped else (0.0, (0.0,))
    best = None
    for a in alphas:
        for g in gammas:
            for bt in betas:
                sse, n, *_ = _run(ys, a, g, bt, phi, period, level, season)
                if best is None or sse < best[0]:
                    best = (sse, n, a, g, bt)
    sse, n, a, g, bt = best
    _, n, l, b, s = _run(ys, a, g, bt, phi, period, level, season)
    sigma2 = sse / max(n - 2, 1) if n > 2 else float(np.nanvar(y)) if n else 0.0
    return EtsFit(alpha=a, gamma=g, phi=phi, beta=bt, sigma2=float(sigma2), period=period,
                  level=float(l), slope=float(b), season=[float(v) for v in s],
                  phase=len(y) % period)


def ets_forecast(fit: EtsFit, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of the next ``h`` days (analytic, additive errors)."""
    steps = np.arange(1, h + 1)
    if fit.phi > 0:
        damp = np.cumsum(fit.phi ** steps)
    else:
        damp = np.zeros(h)
    idx = (fit.phase + steps - 1) % fit.period
    mean = fit.level + damp * fit.slope + np.asarray(fit.season)[idx]
    # Variance of an additive ETS h-step forecast (Hyndman et al. 2008, class 1).
    j = np.arange(1, h)
    c = np.full(h - 1, fit.alpha)
    if fit.beta:
        c = c + fit.beta * np.cumsum(fit.phi ** j)
    c = c + fit.gamma * ((j % fit.period) == 0)
    var = fit.sigma2 * (1.0 + np.concatenate([[0.0], np.cumsum(c ** 2)]))
    return mean, var


def _sqrt(x: float) -> float:
    return math.sqrt(max(x, 0.0))
