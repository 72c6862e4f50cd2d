"""Why a forecast says what it says: the fitted model's terms, per day.

``ridge_ets`` forecasts ``log1p(units)`` as regression terms plus the ETS
residual level, so every term is a multiplicative effect on ``1 + units``:
a term worth ``c`` on the log scale changes that day by ``exp(c) - 1``.
At training time (:func:`fitted_drivers`) the stored path is decomposed into

* ``weekday`` - the weekday coefficients, relative to the average weekday;
* ``season`` - the yearly (Fourier) part per day, relative to its mean over the year;
* ``level`` - the ETS level per day: where recent sales run against the regression;
* ``holidays`` / ``events`` - per day, the forecast with the calendar minus the
  forecast of the same coefficients without public holidays (holidays) or without
  the shop's events and promotions (events), named after the day's holiday or
  event (or "day before ...", "week before ...").

:func:`explain` reads them back for any horizon of the stored path; no refit.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import (
    TYPE_CHECKING,
    Any,
    NotRequired,  # pydantic documents only these TypedDicts on Python 3.11
)

import numpy as np
import pandas as pd
from typing_extensions import TypedDict

from .calendar import EventCalendar, canonical, to_date
from .result import ForecastModel

if TYPE_CHECKING:  # the regression (statsmodels) is only needed at training time
    from .regression import RidgeConfig, RidgeFit

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MIN_EFFECT = 0.02  # log scale: ~2%; smaller day effects are noise, not drivers


def fitted_drivers(
    rfit: RidgeFit,
    cfg: RidgeConfig,
    index: pd.DatetimeIndex,
    cal: EventCalendar,
    closed: set[dt.date],
    level: np.ndarray,
) -> dict[str, Any]:
    """The decomposition of a ``ridge_ets`` path over ``index`` (stored with the model)."""
    from .regression import predict_ridge

    coef = dict(zip(rfit.columns, rfit.coef, strict=False))
    # dow0..dow5 are Monday..Saturday against Sunday (0)
    dow = np.array([coef.get(f"dow{d}", 0.0) for d in range(6)] + [0.0])
    weekday = dow - dow.mean()
    full = predict_ridge(rfit, index, cal, cfg, closed)
    no_events = predict_ridge(rfit, index, _calendar(cal, events=False), cfg, closed)
    plain = predict_ridge(rfit, index, _calendar(cal, events=False, holidays=False), cfg, closed)
    season = _season(rfit, index, cfg)
    closed_days = np.array([d.date() in closed for d in index], dtype=bool)
    span = (index[0].date() - dt.timedelta(days=1), index[-1].date() + dt.timedelta(days=8))
    holiday_names = {**cal.shopping_days_between(*span), **cal.holidays_between(*span)}
    events_by_day: dict[dt.date, list[tuple[str, str]]] = {}
    for ev in cal.events:
        if ev.kind != "store-closed":
            events_by_day.setdefault(ev.date, []).append((ev.name, ev.kind))
    holidays, events = [], []
    for i, day in enumerate(index):
        if closed_days[i]:
            continue
        d = day.date()
        h = float(no_events[i] - plain[i])
        if abs(h) >= MIN_EFFECT:
            holidays.append([i, _holiday_label(d, holiday_names), round(h, 4)])
        e = float(full[i] - no_events[i])
        if abs(e) >= MIN_EFFECT:
            named = events_by_day.get(d) or [("event", "promotion")]
            events.append([i, " + ".join(n for n, _ in named), named[0][1], round(e, 4)])
    return {
        "weekday": [round(float(v), 4) for v in weekday],
        "season": [round(float(v), 4) for v in season - season.mean()],
        "level": [round(float(v), 4) for v in level],
        "holidays": holidays,
        "events": events,
    }


def _calendar(cal: EventCalendar, *, events: bool, holidays: bool = True) -> EventCalendar:
    """The same calendar without the shop's events (closures stay) and/or without public holidays."""
    kept = [ev for ev in cal.events if events or ev.kind == "store-closed"]
    return EventCalendar(
        cal.country if holidays else None,
        cal.subdiv,
        kept,
        lead=cal.lead,
        lag=cal.lag,
        week_before=cal.week_before,
        censored=cal.censored,
    )


def _season(rfit: RidgeFit, index: pd.DatetimeIndex, cfg: RidgeConfig) -> np.ndarray:
    """The clipped yearly Fourier part per day (as the forecast uses it)."""
    from .regression import EPOCH, _fourier

    days = (pd.DatetimeIndex(index) - EPOCH).days.to_numpy(dtype=float)
    coef = dict(zip(rfit.columns, rfit.coef, strict=False))
    part = np.zeros(len(index))
    for name, values in _fourier(days, cfg.fourier).items():
        part += coef.get(name, 0.0) * values
    lo, hi = rfit.fourier_range
    return np.clip(part, lo, hi)


def _holiday_label(day: dt.date, names: dict[dt.date, str]) -> str:
    if day in names:
        return canonical(names[day])
    one = dt.timedelta(days=1)
    if day + one in names:
        return f"day before {canonical(names[day + one])}"
    if day - one in names:
        return f"day after {canonical(names[day - one])}"
    for k in range(2, 8):
        if day + k * one in names:
            return f"week before {canonical(names[day + k * one])}"
    return "holiday"


def pct(log_effect: float) -> float:
    """A log1p-scale effect as a percentage change of the day's forecast."""
    return round(100.0 * (math.exp(log_effect) - 1.0), 1)


class DatedEffect(TypedDict):
    """A holiday's or event's effect on one day of the horizon."""

    date: str
    name: str
    kind: NotRequired[str]  # events only: the event's type (e.g. "promotion")
    effect_pct: float


class WeekdayEffect(TypedDict):
    day: str
    effect_pct: float


class Effect(TypedDict):
    effect_pct: float


class Drivers(TypedDict):
    """Why the forecast says so (percent change of a day's forecast), the `drivers` of `/api/predict`."""

    method: str
    scale: str
    weekday: list[WeekdayEffect]
    season: Effect
    trend: Effect
    holidays: list[DatedEffect]
    events: list[DatedEffect]
    promotions: list[DatedEffect]
    summary: list[str]


def explain(model: Any, start: Any, days: int) -> Drivers | None:
    """Drivers of ``model``'s forecast for ``days`` days from ``start``; None when the
    model has no decomposition (simple methods, or a model stored before drivers)."""
    d = (model.params or {}).get("drivers")
    if not isinstance(d, dict) or days <= 0:
        return None
    first = to_date(model.start)
    start = to_date(start)
    offset = (start - first).days
    n = len(d.get("season") or [])
    window = range(max(offset, 0), min(offset + days, n))
    if not window:
        return None
    season = float(np.mean([d["season"][i] for i in window]))
    level = float(np.mean([d["level"][i] for i in window]))
    weekday: list[WeekdayEffect] = [{"day": WEEKDAYS[k], "effect_pct": pct(v)} for k, v in enumerate(d["weekday"])]

    def dated(rows: list[Any], kind_at: int | None) -> list[DatedEffect]:
        out: list[DatedEffect] = []
        for row in rows:
            i = int(row[0])
            if i in window:
                day = (first + dt.timedelta(days=i)).isoformat()
                if kind_at is None:
                    out.append({"date": day, "name": row[1], "effect_pct": pct(float(row[-1]))})
                else:
                    out.append({"date": day, "name": row[1], "kind": row[kind_at], "effect_pct": pct(float(row[-1]))})
        return out

    holidays = dated(d.get("holidays") or [], None)
    events = dated(d.get("events") or [], 2)
    promotions = [e for e in events if e.get("kind") == "promotion"]
    others = [e for e in events if e.get("kind") != "promotion"]
    summary = [f"{h['name']} {_signed(h['effect_pct'])} on {h['date']}" for h in holidays]
    summary += [f"{e['name']} {_signed(e['effect_pct'])} on {e['date']}" for e in events]
    if abs(season) >= 0.01:
        summary.append(f"season {_signed(pct(season))} against the yearly average")
    if abs(level) >= 0.01:
        summary.append(f"recent trend {_signed(pct(level))} against the usual pattern")
    return {
        "method": model.method,
        "scale": "percent change of the day's forecast (multiplicative on 1 + units)",
        "weekday": weekday,
        "season": {"effect_pct": pct(season)},
        "trend": {"effect_pct": pct(level)},
        "holidays": holidays,
        "events": others,
        "promotions": promotions,
        "summary": summary,
    }


def driver_lines(model: dict[str, Any], start: Any, days: int, limit: int = 5) -> list[str] | None:
    """The biggest named drivers of a stored model (its dict) over a horizon, as short
    sentences (the restock list); None without a decomposition or for an unreadable model."""
    try:
        drivers = explain(ForecastModel.from_dict(model), start, days)
    except (KeyError, TypeError, ValueError):
        return None
    return None if drivers is None else drivers["summary"][:limit]


def _signed(value: float) -> str:
    return f"{value:+.0f}%"
