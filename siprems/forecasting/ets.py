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
    phase: int = 0  # season index of the first forecast day
    rmse: list[float] = field(default_factory=list)  # h-step RMSE, h = 1..len
    bias: list[float] = field(default_factory=list)  # h-step median error
    q: dict = field(default_factory=dict)  # standardised error quantiles
    smear: list[float] = field(default_factory=list)  # 50 quantiles of the standardised errors

    def to_dict(self) -> dict:
        d = asdict(self)
        d["q"] = {k: float(v) for k, v in self.q.items()}
        return d


def _initial(y: np.ndarray, period: int) -> tuple[float, list[float]]:
    """Initial level and seasonal states from the first few observed weeks."""
    head = y[: period * 4]
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


def _run_grid(
    y: np.ndarray, alpha: np.ndarray, gamma: np.ndarray, phi: np.ndarray, period: int, level: float, season: list[float]
):
    """One pass for many parameter sets at once (vectors ``alpha``/``gamma``/``phi``).

    Returns ``L`` (level after each day, shape (n, k)), ``W`` (seasonal value
    written each day), and the final level and seasonal states.
    ``phi`` < 1 makes the level revert towards 0 (the regression's level).
    """
    n, k = len(y), len(alpha)
    s = np.tile(np.asarray(season, dtype=float)[:, None], (1, k))
    l = np.full(k, level)
    L = np.empty((n, k))
    W = np.empty((n, k))
    observed = ~np.isnan(y)
    j = 0
    for t in range(n):
        l = l * phi
        if observed[t]:
            e = y[t] - l - s[j]
            l = l + alpha * e
            s[j] = s[j] + gamma * e
        L[t] = l
        W[t] = s[j]
        j += 1
        if j == period:
            j = 0
    return L, W, l, s


def _hstep_errors(
    y: np.ndarray, L: np.ndarray, W: np.ndarray, phi: np.ndarray, period: int, horizon: int, burn: int
) -> list[np.ndarray]:
    """In-sample h-step forecast errors, h = 1..horizon, each (n_h, k); NaN targets dropped."""
    out = []
    n = len(y)
    for h in range(1, horizon + 1):
        back = (-h) % period  # season written at t - back is the one used at t + h
        t = np.arange(max(burn, back), n - h)
        t = t[~np.isnan(y[t + h])]
        out.append(y[t + h][:, None] - (phi**h * L[t] + W[t - back]))
    return out


def fit_ets(
    y: np.ndarray,
    period: int = 7,
    horizon: int = 28,
    warm: dict | None = None,
    alphas=ALPHAS,
    gammas=GAMMAS,
    phis=(1.0,),
    burn: int = 28,
) -> EtsFit:
    """Pick alpha/gamma(/phi) on a grid by mean absolute 1..``horizon``-step error.

    ``warm`` (a previous :meth:`EtsFit.to_dict`) narrows the grid to the
    neighbours of the previous choice.
    """
    y = np.asarray(y, dtype=float)
    level, season = _initial(y, period)
    if warm and "alpha" in warm:
        alphas = sorted(
            {a for a in alphas if 0.4 * warm["alpha"] <= a <= 2.5 * warm["alpha"] + 1e-9} | {float(warm["alpha"])}
        )
        gammas = sorted({g for g in gammas if g <= 2.5 * warm["gamma"] + 0.01} | {float(warm["gamma"])})
    grid = np.array([(a, g, p) for p in phis for a in alphas for g in gammas], dtype=float)
    burn = min(burn, max(len(y) // 3, 0))
    L, W, l_end, s_end = _run_grid(y, grid[:, 0], grid[:, 1], grid[:, 2], period, level, season)
    errs = _hstep_errors(y, L, W, grid[:, 2], period, horizon, burn)
    flat = np.concatenate(errs, axis=0) if errs else np.empty((0, len(grid)))
    best = int(np.argmin(np.abs(flat).mean(axis=0))) if len(flat) else 0
    a, g, phi = (float(v) for v in grid[best])
    rmse, bias, z = [], [], []
    for e in errs:
        e = e[:, best]
        if len(e) >= 5:
            r = float(np.sqrt(np.mean(e**2)))
            rmse.append(r)
            bias.append(float(np.median(e)))
            if r > 0:
                z.append(e / r)
        else:
            obs = y[~np.isnan(y)]
            rmse.append(rmse[-1] if rmse else float(np.std(obs)) if len(obs) > 1 else 0.5)
            bias.append(0.0)
    zz = np.concatenate(z) if z else np.array([])
    if len(zz) >= 40:
        q = {k: float(np.quantile(zz, float(k))) for k in ("0.025", "0.1", "0.9", "0.975")}
        smear = np.quantile(zz, (np.arange(50) + 0.5) / 50).tolist()
    else:
        q = {"0.025": -1.96, "0.1": -1.2816, "0.9": 1.2816, "0.975": 1.96}
        smear = []
    return EtsFit(
        alpha=a,
        gamma=g,
        phi=phi,
        period=period,
        level=float(l_end[best]),
        season=[float(v) for v in s_end[:, best]],
        phase=len(y) % period,
        rmse=rmse,
        bias=bias,
        q=q,
        smear=smear,
    )


def ets_forecast(fit: EtsFit, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd of the next ``h`` days.

    The sd is the in-sample h-step RMSE up to the fitted horizon; beyond it
    the variance keeps growing by ``alpha**2 * rmse_1**2`` per day (random-walk
    level), as for an additive ETS.
    """
    steps = np.arange(1, h + 1)
    idx = (fit.phase + steps - 1) % fit.period
    mean = fit.phi**steps * fit.level + np.asarray(fit.season)[idx]
    r = np.asarray(fit.rmse, dtype=float)
    if len(r) == 0:
        r = np.array([0.5])
    sd = np.empty(h)
    m = min(h, len(r))
    sd[:m] = np.maximum.accumulate(r[:m])
    if h > len(r):
        extra = np.arange(1, h - len(r) + 1)
        sd[len(r) :] = np.sqrt(sd[len(r) - 1] ** 2 + extra * (fit.alpha * r[0]) ** 2)
    return mean, sd
