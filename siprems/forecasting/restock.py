"""Restock advice from a forecast path (pure functions).

Definitions (all quantities in product units, days counted from the first
forecast row):

* ``predicted_demand``  = sum of ``yhat`` over the horizon;
* ``lead_time_demand``  = sum of ``yhat`` over the first ``lead_time_days``;
* daily sigma           = (hi95 - lo95) / (2 * 1.95996), i.e. the 95% interval
  width read as a normal spread (80% interval used if no 95% one);
* ``sigma_lead_time``   = sqrt(sum of daily variances over the lead time)
  (days treated as independent);
* ``safety_stock``      = z(service_level) * sigma_lead_time;
* ``reorder_point``     = lead_time_demand + safety_stock;
* ``recommended_restock`` = max(0, ceil(predicted_demand + safety_stock - stock));
* ``days_of_stock_left`` = number of whole days whose cumulative forecast
  stays <= stock; ``None`` when the stock outlasts the horizon (the stock then
  covers more than ``horizon_days``);
* ``urgency`` = ``high`` if stock runs out within the lead time
  (days_of_stock_left < lead_time_days), ``medium`` if within the horizon,
  else ``low``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist

Z95 = 1.959963984540054
Z80 = 1.2815515655446004


@dataclass
class RestockAdvice:
    stock: float
    horizon_days: int
    lead_time_days: int
    service_level: float
    z: float
    predicted_demand: float
    lead_time_demand: float
    sigma_lead_time: float
    safety_stock: float
    reorder_point: float
    recommended_restock: int
    days_of_stock_left: int | None
    urgency: str

    def to_dict(self) -> dict:
        return asdict(self)


def _rows(forecast) -> list[Mapping]:
    """Accept rows (list of dicts), a dict of lists, or an object with ``frame()``/``to_dict``."""
    if hasattr(forecast, "frame"):
        forecast = forecast.frame().to_dict("records")
    elif hasattr(forecast, "to_dict") and hasattr(forecast, "columns"):
        forecast = forecast.to_dict("records")
    if isinstance(forecast, Mapping):
        keys = [k for k in forecast if isinstance(forecast[k], Sequence) and not isinstance(forecast[k], str)]
        n = len(forecast["yhat"])
        return [{k: forecast[k][i] for k in keys} for i in range(n)]
    return list(forecast)


def daily_sigma(row: Mapping) -> float:
    """Spread of one day's demand from its forecast interval (0 without one)."""
    if row.get("hi95") is not None and row.get("lo95") is not None:
        return max(float(row["hi95"]) - float(row["lo95"]), 0.0) / (2 * Z95)
    if row.get("hi80") is not None and row.get("lo80") is not None:
        return max(float(row["hi80"]) - float(row["lo80"]), 0.0) / (2 * Z80)
    return 0.0


def days_of_stock(stock: float, demand: Sequence[float]) -> int | None:
    """Whole days covered by ``stock``; None if it outlasts ``demand``."""
    cum = 0.0
    for i, d in enumerate(demand):
        cum += max(float(d), 0.0)
        if cum > stock + 1e-9:
            return i
    return None


def restock_advice(
    stock: float, forecast, *, horizon_days: int = 7, lead_time_days: int = 2, service_level: float = 0.95
) -> RestockAdvice:
    """Restock numbers for one product (see module docstring for the formulas).

    ``forecast`` rows start at the day the advice is for (e.g.
    ``ForecastModel.forecast(today, horizon_days)``).  If fewer rows than
    ``horizon_days`` are given, the horizon is what is available.
    """
    if not 0.0 < service_level < 1.0:
        raise ValueError("service_level must be in (0, 1)")
    rows = _rows(forecast)
    horizon = max(min(int(horizon_days), len(rows)), 0)
    lead = max(min(int(lead_time_days), horizon), 0)
    stock = max(float(stock), 0.0)
    yhat = [max(float(r["yhat"]), 0.0) for r in rows[:horizon]]
    sig = [daily_sigma(r) for r in rows[:lead]]
    z = NormalDist().inv_cdf(service_level)
    demand = sum(yhat)
    lt_demand = sum(yhat[:lead])
    sigma_lt = math.sqrt(sum(s * s for s in sig))
    safety = max(z, 0.0) * sigma_lt
    left = days_of_stock(stock, yhat)
    if left is not None and left < lead_time_days:
        urgency = "high"
    elif left is not None:
        urgency = "medium"
    else:
        urgency = "low"
    return RestockAdvice(
        stock=stock,
        horizon_days=horizon,
        lead_time_days=int(lead_time_days),
        service_level=float(service_level),
        z=z,
        predicted_demand=demand,
        lead_time_demand=lt_demand,
        sigma_lead_time=sigma_lt,
        safety_stock=safety,
        reorder_point=lt_demand + safety,
        recommended_restock=max(0, math.ceil(demand + safety - stock - 1e-9)),
        days_of_stock_left=left,
        urgency=urgency,
    )
