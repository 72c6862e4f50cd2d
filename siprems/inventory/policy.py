"""The stock policy: the one place that decides whether a product is out,
low or ok, how many days its stock covers, and how much to order.

Pure functions, no I/O. Every surface (dashboard, `/api/products/stats`,
product responses, the restock list, `/api/predict`, the assistant and the
Gemini grounding) calls :func:`assess` through `siprems.inventory.stock`.

API::

    assess(item: StockItem, forecast: Sequence[Mapping] | None, *, today: date,
           incoming: Sequence[Incoming] = ()) -> StockPosition

* ``item``: the product's stock settings (:class:`StockItem`).
* ``forecast``: the demand forecast from ``today``, one row per day with
  ``yhat`` and optionally ``sigma`` or ``lo95``/``hi95`` (or ``lo80``/``hi80``), i.e.
  ``ForecastModel.forecast(today, COVER_HORIZON_DAYS)``; ``None`` when the
  product has no model. At least ``lead_time_days + REVIEW_DAYS`` rows are
  needed for the order quantity, ``COVER_HORIZON_DAYS`` for days of cover.
* ``incoming``: stock already ordered (:class:`Incoming`, by expected date);
  what arrives within the lead time (by day ``lead_time_days``) counts as on hand for the status and the
  order quantity, everything counts for days of cover from its arrival day.

Rules (all in product units):

* with a forecast: ``lead_time_demand`` = sum of ``yhat`` over the first
  ``lead_time_days``; daily sigma = (hi95 - lo95) / (2 z95) (80% band if no
  95% one); ``safety_stock`` = z(service_level) x sqrt(sum of daily variances
  over the lead time); ``reorder_point`` = lead_time_demand + safety_stock;
  ``target_stock`` (order-up-to level) = ceil(demand over lead time +
  REVIEW_DAYS + safety_stock).
* without a forecast: ``reorder_point`` = ``reorder_level`` (editable per
  product, default 5); ``target_stock`` = 2 x reorder_level.
* ``position`` = stock + incoming expected within the lead time.
* ``status``: ``out`` when stock = 0; ``low`` when position <= reorder_point;
  else ``ok``.
* ``recommended_order`` = max(0, target_stock - position) when not ``ok``,
  else 0 (nothing is ordered above the reorder point).
* ``days_of_cover``: whole days from today whose cumulative forecast stays
  within the stock (plus incoming from its arrival day); ``None`` without a
  forecast or when the stock outlasts COVER_HORIZON_DAYS.
* ``urgency``: ``high`` when out or when the stock runs out within the lead
  time, ``medium`` when low, else ``low``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from statistics import NormalDist
from typing import Literal

Status = Literal["out", "low", "ok"]
Urgency = Literal["high", "medium", "low"]

DEFAULT_REORDER_LEVEL = 5
REVIEW_DAYS = 14  # an order covers the lead time plus two weeks
COVER_HORIZON_DAYS = 365  # days of cover are counted up to a year
STATUS_RANK: dict[str, int] = {"out": 0, "low": 1, "ok": 2}

Z95 = 1.959963984540054
Z80 = 1.2815515655446004


@dataclass(frozen=True)
class StockItem:
    """What the policy needs to know about a product."""

    stock: int
    lead_time_days: int = 2
    service_level: float = 0.95
    reorder_level: int = DEFAULT_REORDER_LEVEL


@dataclass(frozen=True)
class Incoming:
    """Stock on order: ``quantity`` units expected on ``expected``."""

    quantity: int
    expected: date


@dataclass(frozen=True)
class StockPosition:
    """The policy's verdict for one product (see the module docstring)."""

    status: Status
    urgency: Urgency
    basis: Literal["forecast", "reorder_level"]
    stock: int
    incoming: int  # units expected within the lead time
    reorder_point: float
    target_stock: int
    recommended_order: int
    days_of_cover: int | None
    lead_time_days: int
    service_level: float
    lead_time_demand: float | None
    safety_stock: float | None

    @property
    def needs_order(self) -> bool:
        return self.status != "ok"


def daily_sigma(row: Mapping[str, float | None]) -> float:
    """Spread of one day's demand: ``sigma`` when given, else read from its forecast interval (0 without one)."""
    sigma = row.get("sigma")
    if sigma is not None:
        return max(float(sigma), 0.0)
    hi95, lo95 = row.get("hi95"), row.get("lo95")
    if hi95 is not None and lo95 is not None:
        return max(float(hi95) - float(lo95), 0.0) / (2 * Z95)
    hi80, lo80 = row.get("hi80"), row.get("lo80")
    if hi80 is not None and lo80 is not None:
        return max(float(hi80) - float(lo80), 0.0) / (2 * Z80)
    return 0.0


def days_of_cover(stock: float, demand: Sequence[float], arrivals: Sequence[float] = ()) -> int | None:
    """Whole days covered by ``stock`` (``arrivals[i]`` units join on day i);
    None when it outlasts ``demand``."""
    left = float(stock)
    for i, d in enumerate(demand):
        if i < len(arrivals):
            left += arrivals[i]
        left -= max(float(d), 0.0)
        if left < -1e-9:
            return i
    return None


def _arrivals(incoming: Sequence[Incoming], today: date, days: int) -> list[float]:
    out = [0.0] * days
    for inc in incoming:
        offset = max((inc.expected - today).days, 0)
        if offset < days:
            out[offset] += inc.quantity
    return out


def assess(
    item: StockItem,
    forecast: Sequence[Mapping[str, float | None]] | None,
    *,
    today: date,
    incoming: Sequence[Incoming] = (),
) -> StockPosition:
    """The product's status, reorder point, days of cover and order quantity."""
    if not 0.0 < item.service_level < 1.0:
        raise ValueError("service_level must be in (0, 1)")
    stock = max(int(item.stock), 0)
    lead = max(int(item.lead_time_days), 0)
    due = sum(i.quantity for i in incoming if (i.expected - today).days <= lead)
    position = stock + due
    lt_demand: float | None = None
    safety: float | None = None
    cover: int | None = None
    if forecast is None:
        basis: Literal["forecast", "reorder_level"] = "reorder_level"
        reorder_point = float(item.reorder_level)
        target = 2 * int(item.reorder_level)
    else:
        basis = "forecast"
        yhat = [max(float(r["yhat"] or 0.0), 0.0) for r in forecast]
        z = max(NormalDist().inv_cdf(float(item.service_level)), 0.0)
        lt_demand = sum(yhat[:lead])
        safety = z * math.sqrt(sum(daily_sigma(r) ** 2 for r in forecast[:lead]))
        reorder_point = lt_demand + safety
        target = math.ceil(sum(yhat[: lead + REVIEW_DAYS]) + safety - 1e-9)
        horizon = yhat[:COVER_HORIZON_DAYS]
        cover = days_of_cover(stock, horizon, _arrivals(incoming, today, len(horizon)))
    if stock == 0:
        status: Status = "out"
    elif position <= reorder_point:
        status = "low"
    else:
        status = "ok"
    recommended = max(0, target - position) if status != "ok" else 0
    if status == "out" or (status == "low" and cover is not None and cover < lead):
        urgency: Urgency = "high"
    elif status == "low":
        urgency = "medium"
    else:
        urgency = "low"
    return StockPosition(
        status=status,
        urgency=urgency,
        basis=basis,
        stock=stock,
        incoming=due,
        reorder_point=reorder_point,
        target_stock=target,
        recommended_order=recommended,
        days_of_cover=cover,
        lead_time_days=lead,
        service_level=float(item.service_level),
        lead_time_demand=lt_demand,
        safety_stock=safety,
    )
