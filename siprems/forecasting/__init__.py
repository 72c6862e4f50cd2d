"""SIPREMS forecasting engine (pure Python on numpy/pandas/scipy + ``holidays``).

Public API::

    model = train(sales, closed_days=..., events=..., country="ID", today=date.today())
    model.forecast(start, days)          # rows from the stored 365-day path
    ForecastModel.from_dict(model.to_dict())
    holiday_names(start, end, country="ID")

Restock decisions live in ``siprems.inventory`` (this package forecasts demand).
See ``models`` for the candidate models, ``selection`` for the per-product
holdout choice and ``backtest`` for the rolling-origin benchmark.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .calendar import DateLike, Event, EventCalendar, EventsLike, holiday_names, to_date
from .result import ForecastModel
from .series import Sales, censor, daily_series, fingerprint, n_open_days, sale_pairs, trim_closed_edges
from .stockouts import stockout_days

__all__ = [
    "Event",
    "EventCalendar",
    "ForecastModel",
    "daily_series",
    "holiday_names",
    "prepare_series",
    "stockout_days",
    "train",
]


def prepare_series(
    sales: Sales,
    *,
    closed_days: Iterable[DateLike] = (),
    events: EventsLike = None,
    today: DateLike | None = None,
    stockout_days: Iterable[DateLike] = (),
) -> pd.Series:
    """Daily history strictly before ``today`` (see :func:`series.daily_series`).

    Store-closed events count as closed days.  ``stockout_days`` (see
    :mod:`.stockouts`) are missing too: censored demand, not zero demand.
    Leading missing days are dropped.
    """
    cal = EventCalendar(None, None, events)
    closed = {to_date(d) for d in closed_days} | cal.closed_days()
    end = to_date(today) - dt.timedelta(days=1) if today is not None else None
    if end is not None:
        sales = [(d, q) for d, q in sale_pairs(sales) if to_date(d) <= end]
    y = daily_series(sales, closed, end=end if sales else None)
    return trim_closed_edges(censor(y, stockout_days))


_BLAS_LIMITED = False


def _single_threaded_blas() -> None:
    """Training processes run one fit per core: a multi-threaded BLAS call on these small
    matrices only spins threads (CPU time doubles, wall time does not drop)."""
    global _BLAS_LIMITED
    if not _BLAS_LIMITED:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="blas")
        _BLAS_LIMITED = True


def train(
    sales: Sales,
    *,
    closed_days: Iterable[DateLike] = (),
    events: EventsLike = None,
    country: str | None = "ID",
    subdiv: str | None = None,
    today: DateLike | None = None,
    horizon: int = 365,
    warm_start: ForecastModel | Mapping[str, Any] | None = None,
    holdout: int = 56,
    candidates: list[str] | None = None,
    stockout_days: Iterable[DateLike] = (),
) -> ForecastModel:
    """Fit, choose and store a forecast for one product.  Never raises on short data.

    ``sales``: ``(date, qty)`` pairs (or a date-indexed Series).
    ``closed_days``: days the shop was shut (NaN, not zero).
    ``events``: :class:`Event` objects / dicts ``{date, name, kind}``.
    ``today``: first forecast day; history is everything before it (default:
    the day after the last sale).  ``warm_start``: a previous
    :class:`ForecastModel` or its dict, reused to narrow the parameter search.
    ``stockout_days``: days the product was out of stock (:func:`stockouts.stockout_days`):
    missing, not zero, and not closures either.
    """
    from .selection import fit_candidate, select_model  # statsmodels: kept out of API start-up

    _single_threaded_blas()
    stockouts = {to_date(d) for d in stockout_days}
    y = prepare_series(sales, closed_days=closed_days, events=events, today=today, stockout_days=stockouts)
    cal = EventCalendar(country, subdiv, events, censored=stockouts)
    if today is not None:
        start = to_date(today)
    elif len(y):
        start = y.index[-1].date() + dt.timedelta(days=1)
    else:
        start = dt.date.today()
    if len(y) == 0:  # no history at all: an empty series ending the day before start
        y = pd.Series([np.nan], index=pd.DatetimeIndex([start - dt.timedelta(days=1)]))
    warm = _warm_params(warm_start)
    fitted: dict[str, dict[str, Any]] = {}
    name, metrics = select_model(y, cal, holdout=holdout, candidates=candidates, warm=warm, fitted=fitted)
    try:
        # the holdout fit of the chosen candidate is the best start for the final fit
        path = fit_candidate(name, y, cal, horizon, warm=fitted.get(name) or warm, explain=True)
    except Exception as exc:  # last resort: never fail a product
        metrics["fallback_reason"] = f"{name}: {type(exc).__name__}"
        name = "short_history" if name != "short_history" else "seasonal_naive"
        path = fit_candidate(name, y, cal, horizon)
    n_obs = n_open_days(y)
    if stockouts:
        metrics["stockout_days"] = sum(1 for d in y.index if d.date() in stockouts)
    return ForecastModel(
        method=name,
        start=start.isoformat(),
        train_start=y.index[0].date().isoformat() if n_obs else None,
        train_end=y.index[-1].date().isoformat() if n_obs else None,
        fingerprint=fingerprint(y),
        n_obs=n_obs,
        path={
            "yhat": path.yhat.tolist(),
            "lo80": path.lo80.tolist(),
            "hi80": path.hi80.tolist(),
            "lo95": path.lo95.tolist(),
            "hi95": path.hi95.tolist(),
        },
        params=path.params,
        metrics=metrics,
        country=country,
        subdiv=subdiv,
    )


def _warm_params(warm_start: ForecastModel | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if warm_start is None:
        return None
    d = warm_start.to_dict() if isinstance(warm_start, ForecastModel) else dict(warm_start)
    params: dict[str, Any] | None = d.get("params") or None
    return params
