"""The provisional forecast of a product that has no trained model yet.

An API process never fits a model (that is a worker's job, ~0.1 s of CPU per
product). Until the worker has stored one, a prediction answers at once from
this baseline: per weekday, the mean of the same weekday over the last
`WEEKS` weeks (closed days left out), with a normal interval whose spread is
the residual spread around those means, inflated for estimating each mean
from few weeks, and never narrower than a Poisson spread. It costs well under
a millisecond and is marked `provisional` in the response.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from statistics import NormalDist

from .result import ForecastModel

Z80 = NormalDist().inv_cdf(0.90)  # stdlib, not .models: keeps scipy out of the API's start-up path
Z95 = NormalDist().inv_cdf(0.975)

METHOD = "baseline_weekday_mean"
WEEKS = 8
HORIZON = 28  # stored days; ForecastModel.forecast repeats the last week beyond


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def baseline_model(
    sales: dict[date, float], closed_days: set[date], closed_weekdays: set[int], today: date
) -> ForecastModel:
    """`sales`: units per local day (days without a row sold nothing)."""
    first_sale = min(sales) if sales else today
    begin = max(today - timedelta(days=7 * WEEKS), first_sale)
    by_weekday: dict[int, list[float]] = {wd: [] for wd in range(7)}
    day = begin
    while day < today:
        if day not in closed_days and day.weekday() not in closed_weekdays:
            by_weekday[day.weekday()].append(float(sales.get(day, 0.0)))
        day += timedelta(days=1)
    observed = [v for values in by_weekday.values() for v in values]
    overall = _mean(observed)
    # A weekday seen fewer than twice borrows the overall mean.
    means = {wd: (_mean(v) if len(v) >= 2 else overall) for wd, v in by_weekday.items()}
    residuals = [v - means[wd] for wd, values in by_weekday.items() for v in values]
    dof = max(len(residuals) - 7, 1)
    spread = math.sqrt(sum(r * r for r in residuals) / dof) if residuals else 0.0
    weeks_seen = max(len(observed) / 7.0, 1.0)
    spread *= math.sqrt(1.0 + 1.0 / weeks_seen)

    path: dict[str, list[float]] = {k: [] for k in ("yhat", "lo80", "hi80", "lo95", "hi95")}
    for i in range(HORIZON):
        wd = (today + timedelta(days=i)).weekday()
        y = 0.0 if wd in closed_weekdays else max(means[wd], 0.0)
        sd = 0.0 if wd in closed_weekdays else max(spread, math.sqrt(y))
        path["yhat"].append(y)
        path["lo80"].append(max(y - Z80 * sd, 0.0))
        path["hi80"].append(y + Z80 * sd)
        path["lo95"].append(max(y - Z95 * sd, 0.0))
        path["hi95"].append(y + Z95 * sd)
    return ForecastModel(
        method=METHOD,
        start=today.isoformat(),
        train_start=begin.isoformat() if observed else None,
        train_end=(today - timedelta(days=1)).isoformat() if observed else None,
        fingerprint="",
        n_obs=len(observed),
        path=path,
        params={"weeks": WEEKS, "provisional": True},
    )
