"""Additive exponential smoothing ETS(A,N,A) that skips missing days.

Written out instead of using statsmodels because it must skip NaN days
(closed shop, off-season) without imputing them, it is several times faster
for the small grids we need, and warm starts are trivial.

States: level ``l`` and ``period`` seasonal states.  Missing days advance time
but update nothing.  Smoothing parameters are chosen on a small grid by the
in-sample *multi-step* mean absolute error (1..``horizon`` days ahead), not
the one-step error: one-step fitting picks a jumpy level that hurts 28-day
forecasts.  The same in-sample h-step errors give the forecast spread.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

ALPHAS = (0.005, 0.01, 0.02, 0.035, 0.06, 0.1, 0.2)
GAMMAS = (0.0, 0.01, 0.03, 0.06)


@dataclass
class EtsFit:
    """Chosen parameters, final states and the in-sample h-step error spread."""

    alpha: float
    gamma: float
    phi: float = 1.0
    period: int = 7
    level: float = 0.0
    season: list[float] = field(default_factory=list)
    phase: int = 0                       # season index of the first forecast day
    rmse: list[float] = field(default_factory=list)   # h-step RMSE, h = 1..len
    bias: list[float] = field(default_factory=list)   # h-step median error
    q: dict = field(default_factory=dict)  # standardised error quantiles

    def to_dict(self) -> dict:
        d = asdict(self)
        d["q"] = {k: float(v) for k, v in self.q.items()}
        return d


def _initial(y: np.ndarray, period: int) -> tuple[float, list[float]]:
    """Initial level and seasonal states from the first few observed weeks."""
    head = y[:period * 4]
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


def _run(y: list, alpha: float, gamma: float, period: int, level: float, season: list[float],
         phi: float = 1.0):
    """One pass.  Returns level after each day, the seasonal value written each day, final states.

    ``phi`` < 1 makes the level revert towards 0 (the regression's level).
    """
    s = list(season)
    l = level
    L = [0.0] * len(y)
    W = [0.0] * len(y)
    k = 0
    for t, v in enumerate(y):
        l *= phi
        if v == v:  # observed (not NaN)
            e = v - l - s[k]
            l += alpha * e
            s[k] += gamma * e
        L[t] = l
        W[t] = s[k]
        k += 1
        if k == period:
            k = 0
    return np.array(L), np.array(W), l, s


def _hstep_errors(y: np.ndarray, L: np.ndarray, W: np.ndarray, period: int, horizon: int,
                  burn: int, phi: float = 1.0) -> list[np.ndarray]:
    """In-sample errors of the h-step forecasts, h = 1..horizon (NaN targets dropped)."""
    out = []
    n = len(y)
    for h in range(1, horizon + 1):
        back = (-h) % period            # season written at t - back is the one used at t + h
        t0 = max(burn, back)
        t = np.arange(t0, n - h)
        if len(t) == 0:
            out.append(np.array([]))
            continue
        e = y[t + h] - (phi ** h * L[t] + W[t - back])
        out.append(e[~np.isnan(e)])
    return out


def fit_ets(y: np.ndarray, period: int = 7, horizon: int = 28, warm: dict | None = None,
            alphas=ALPHAS, gammas=GAMMAS, phis=(1.0,), burn: int = 28) -> EtsFit:
    """Pick alpha/gamma on a grid by mean absolute 1..``horizon``-step error.

    ``warm`` (a previous :meth:`EtsFit.to_dict`) narrows the grid to the
    neighbours of the previous choice.
    """
    y = np.asarray(y, dtype=float)
    level, season = _initial(y, period)
    if warm and "alpha" in warm:
        alphas = sorted({a for a in alphas if 0.4 * warm["alpha"] <= a <= 2.5 * warm["alpha"] + 1e-9}
                        | {float(warm["alpha"])})
        gammas = sorted({g for g in gammas if g <= 2.5 * warm["gamma"] + 0.01} | {float(warm["gamma"])})
    ys = y.tolist()
    burn = min(burn, max(len(y) // 3, 0))
    best = None
    for phi in phis:
        for a in alphas:
            for g in gammas:
                L, W, l, s = _run(ys, a, g, period, level, season, phi)
                errs = _hstep_errors(y, L, W, period, horizon, burn, phi)
                flat = np.concatenate(errs) if errs else np.array([])
                score = float(np.mean(np.abs(flat))) if len(flat) else 0.0
                if best is None or score < best[0]:
                    best = (score, a, g, phi, errs, l, s)
    _, a, g, phi, errs, l, s = best
    rmse, bias, z = [], [], []
    for e in errs:
        if len(e) >= 5:
            r = float(np.sqrt(np.mean(e ** 2)))
            rmse.append(r)
            bias.append(float(np.median(e)))
            if r > 0:
                z.append(e / r)
        else:
            rmse.append(rmse[-1] if rmse else float(np.nanstd(y)) if len(y) > 1 else 0.5)
            bias.append(0.0)
    zz = np.concatenate(z) if z else np.array([])
    if len(zz) >= 40:
        q = {k: float(np.quantile(zz, float(k))) for k in ("0.025", "0.1", "0.9", "0.975")}
    else:
        q = {"0.025": -1.96, "0.1": -1.2816, "0.9": 1.2816, "0.975": 1.96}
    return EtsFit(alpha=a, gamma=g, phi=phi, period=period, level=float(l), season=[float(v) for v in s],
                  phase=len(y) % period, rmse=rmse, bias=bias, q=q)


def ets_forecast(fit: EtsFit, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd of the next ``h`` days.

    The sd is the in-sample h-step RMSE up to the fitted horizon; beyond it
    the variance keeps growing by ``alpha**2 * rmse_1**2`` per day (random-walk
    level), as for an additive ETS.
    """
    steps = np.arange(1, h + 1)
    idx = (fit.phase + steps - 1) % fit.period
    mean = fit.phi ** steps * fit.level + np.asarray(fit.season)[idx]
    r = np.asarray(fit.rmse, dtype=float)
    if len(r) == 0:
        r = np.array([0.5])
    sd = np.empty(h)
    m = min(h, len(r))
    sd[:m] = np.maximum.accumulate(r[:m])
    if h > len(r):
        extra = np.arange(1, h - len(r) + 1)
        sd[len(r):] = np.sqrt(sd[len(r) - 1] ** 2 + extra * (fit.alpha * r[0]) ** 2)
    return mean, sd
