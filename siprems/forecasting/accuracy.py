"""Forecasts tracked against what sold (a scheduled job per store, no Sanic imports).

Every run, for each product with a model and each of the last ``WINDOW_DAYS``
days up to yesterday, the forecast of the newest stored model version whose
path started on or before that day (what the shop was shown for it) is
recorded next to the units sold (``forecast_outcomes``; the first recorded
forecast of a day stays, its actual is refreshed).  Closed days and stock-out
days (censored demand) are not scored.  From the outcomes of the window:

* MASE - mean absolute error / the in-sample weekly seasonal-naive MAE of the
  year of daily sales before the window (the backtest's and holdout's scale);
* WAPE - sum |actual - forecast| / sum actual, in percent;
* coverage80/95 - share of days whose actual fell inside the interval, in percent.

They are kept per product in ``forecast_accuracy``.  Drift = at least
``MIN_DRIFT_DAYS`` scored days and live MASE above ``DRIFT_RATIO`` x the
holdout MASE and by at least ``DRIFT_MARGIN``; a drifting product gets a
retraining job (the same debounced request every other trigger uses).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
from typing_extensions import TypedDict  # pydantic documents only this TypedDict on Python 3.11

from siprems.calendar.events import prediction_events
from siprems.calendar.locale import store_locale
from siprems.catalog import read as catalog
from siprems.db import Pool, fetch_all, transaction
from siprems.redis_client import Redis

from . import registry
from .metrics import naive_scale
from .registry import chosen_holdout
from .result import ForecastModel
from .service import closed_weekdays, daily_sales, stockouts
from .stockouts import stockout_days
from .training_requests import request_training

WINDOW_DAYS = 28
SCALE_DAYS = 365
MIN_DRIFT_DAYS = 14
DRIFT_RATIO = 1.5
DRIFT_MARGIN = 0.25


@dataclass(frozen=True)
class Outcome:
    day: dt.date
    model_version: int
    yhat: float
    lo80: float
    hi80: float
    lo95: float
    hi95: float
    actual: float


def live_metrics(outcomes: Sequence[Outcome], scale: float | None) -> dict[str, Any]:
    """MASE, WAPE %, coverage80/95 % and the number of days over ``outcomes``."""
    n = len(outcomes)
    if n == 0:
        return {"days_scored": 0, "mase": None, "wape": None, "coverage80": None, "coverage95": None}
    a = np.array([o.actual for o in outcomes])
    f = np.array([o.yhat for o in outcomes])
    err = np.abs(a - f)
    total = float(a.sum())

    def inside(lo: str, hi: str) -> float:
        return float(np.mean([getattr(o, lo) <= o.actual <= getattr(o, hi) for o in outcomes]))

    return {
        "days_scored": n,
        "mase": float(err.mean() / scale) if scale and math.isfinite(scale) and scale > 0 else None,
        "wape": float(100.0 * err.sum() / total) if total > 0 else None,
        "coverage80": 100.0 * inside("lo80", "hi80"),
        "coverage95": 100.0 * inside("lo95", "hi95"),
    }


def is_drift(live: dict[str, Any], holdout_mase: float | None) -> bool:
    mase = live.get("mase")
    if mase is None or holdout_mase is None or live.get("days_scored", 0) < MIN_DRIFT_DAYS:
        return False
    return bool(mase > DRIFT_RATIO * holdout_mase and mase > holdout_mase + DRIFT_MARGIN)


def forecast_for(versions: Sequence[tuple[int, ForecastModel]], day: dt.date) -> tuple[int, dict[str, float]] | None:
    """The forecast for ``day`` of the newest version whose path starts on or before it."""
    for version, model in sorted(versions, key=lambda v: -v[0]):
        start = dt.date.fromisoformat(model.start)
        if start <= day < start + dt.timedelta(days=model.horizon):
            (row,) = model.forecast(day, 1)
            return version, row
    return None


async def track_store(
    pool: Pool, store_id: int, *, today: dt.date | None = None, queue: Redis | None = None
) -> dict[str, Any]:
    """Record outcomes and live accuracy for every product of the store that has a model;
    queue a retrain for drifting ones (when ``queue`` is given). Returns a summary."""
    store = await store_locale(pool, store_id)
    today = today or store.today()
    first = today - dt.timedelta(days=WINDOW_DAYS)
    rows = await fetch_all(
        pool,
        """SELECT p.product_id, p.sku, f.version, f.model, f.metrics
             FROM products p JOIN forecast_models f ON f.product_id = p.product_id
            WHERE p.store_id = %s AND NOT p.is_archived ORDER BY p.product_id, f.version""",
        (store_id,),
    )
    by_product: dict[int, dict[str, Any]] = {}
    for r in rows:
        entry = by_product.setdefault(r["product_id"], {"sku": r["sku"], "versions": [], "holdout": None})
        entry["versions"].append((r["version"], ForecastModel.from_dict(r["model"])))
        entry["holdout"] = (r["metrics"] or {}).get("mase")  # newest version's holdout (rows ascend)
    shut = await closed_weekdays(pool, store_id)
    closed_events = {
        e["date"] if isinstance(e["date"], dt.date) else dt.date.fromisoformat(str(e["date"]))
        for e in await prediction_events(pool, store_id)
        if e["kind"] == "store-closed"
    }
    summary: dict[str, Any] = {"products": 0, "drifting": [], "retrain_jobs": []}
    for pid, entry in by_product.items():
        sales = await daily_sales(pool, store, pid, first - dt.timedelta(days=SCALE_DAYS))
        sold = {d: q for d, q, _ in sales}
        out = stockout_days(
            await stockouts(pool, store, pid, first, today),
            until=today - dt.timedelta(days=1),
            sold_on=[d for d, q in sold.items() if q > 0],
        )
        new: list[Outcome] = []
        scorable: set[dt.date] = set()
        for k in range(WINDOW_DAYS):
            day = first + dt.timedelta(days=k)
            if day.weekday() in shut or day in closed_events or day in out:
                continue
            scorable.add(day)
            found = forecast_for(entry["versions"], day)
            if found is None:
                continue
            version, row = found
            new.append(
                Outcome(
                    day=day,
                    model_version=version,
                    yhat=float(row["yhat"]),
                    lo80=float(row["lo80"]),
                    hi80=float(row["hi80"]),
                    lo95=float(row["lo95"]),
                    hi95=float(row["hi95"]),
                    actual=sold.get(day, 0.0),
                )
            )
        history = _history_array(sold, first - dt.timedelta(days=SCALE_DAYS), first, shut, closed_events)
        scale = naive_scale(history)
        outcomes = await _store_outcomes(pool, store_id, pid, new, scorable, first, today)
        live = live_metrics(outcomes, scale)
        drift = is_drift(live, entry["holdout"])
        job_id = None
        if drift:
            summary["drifting"].append(entry["sku"])
            if queue is not None:
                (job_id,) = await request_training(queue, store_id, [(pid, entry["sku"])], debounce=False)
                summary["retrain_jobs"].append(job_id)
        await _store_accuracy(
            pool, store_id, pid, entry["versions"][-1][0], first, today, live, entry["holdout"], drift, job_id
        )
        summary["products"] += 1
    return summary


def _history_array(
    sold: dict[dt.date, float], start: dt.date, end: dt.date, shut: set[int], closed: set[dt.date]
) -> np.ndarray:
    """Daily units in [start, end): closed days NaN, open days without sales 0 (from the first sale)."""
    days = [d for d in sold if start <= d < end]
    if not days:
        return np.array([])
    first = min(days)
    out = []
    day = first
    while day < end:
        out.append(math.nan if day.weekday() in shut or day in closed else sold.get(day, 0.0))
        day += dt.timedelta(days=1)
    return np.array(out, dtype=float)


async def _store_outcomes(
    pool: Pool,
    store_id: int,
    product_id: int,
    new: Sequence[Outcome],
    scorable: set[dt.date],
    first: dt.date,
    today: dt.date,
) -> list[Outcome]:
    """Insert the new outcomes (the first forecast of a day stays; its actual is refreshed)
    and return the window's outcomes as stored."""
    async with transaction(pool) as cur:
        for o in new:
            await cur.execute(
                """INSERT INTO forecast_outcomes (store_id, product_id, day, model_version, yhat, lo80, hi80, lo95,
                                                  hi95, actual)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (product_id, day) DO UPDATE SET actual = EXCLUDED.actual""",
                (store_id, product_id, o.day, o.model_version, o.yhat, o.lo80, o.hi80, o.lo95, o.hi95, o.actual),
            )
        await cur.execute(
            """SELECT day, model_version, yhat, lo80, hi80, lo95, hi95, actual FROM forecast_outcomes
                WHERE product_id = %s AND day >= %s AND day < %s ORDER BY day""",
            (product_id, first, today),
        )
        rows = await cur.fetchall()
    # a stored day that is no longer scorable (now known as a stock-out or closure) is left out
    return [Outcome(**dict(r)) for r in rows if r["day"] in scorable]


async def _store_accuracy(
    pool: Pool,
    store_id: int,
    product_id: int,
    version: int,
    first: dt.date,
    today: dt.date,
    live: dict[str, Any],
    holdout: float | None,
    drift: bool,
    job_id: str | None,
) -> None:
    async with transaction(pool) as cur:
        await cur.execute(
            """INSERT INTO forecast_accuracy (product_id, store_id, model_version, window_start, window_end,
                                              days_scored, mase, wape, coverage80, coverage95, holdout_mase, drift,
                                              retrain_job_id, computed_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())
               ON CONFLICT (product_id) DO UPDATE SET
                   model_version = EXCLUDED.model_version, window_start = EXCLUDED.window_start,
                   window_end = EXCLUDED.window_end, days_scored = EXCLUDED.days_scored, mase = EXCLUDED.mase,
                   wape = EXCLUDED.wape, coverage80 = EXCLUDED.coverage80, coverage95 = EXCLUDED.coverage95,
                   holdout_mase = EXCLUDED.holdout_mase, drift = EXCLUDED.drift,
                   retrain_job_id = EXCLUDED.retrain_job_id, computed_at = now()""",
            (
                product_id,
                store_id,
                version,
                first,
                today - dt.timedelta(days=1),
                live["days_scored"],
                live["mase"],
                live["wape"],
                live["coverage80"],
                live["coverage95"],
                holdout,
                drift,
                job_id,
            ),
        )


ACCURACY_COLUMNS = """p.sku, a.model_version, a.window_start, a.window_end, a.days_scored, a.mase, a.wape,
       a.coverage80, a.coverage95, a.holdout_mase, a.drift, a.retrain_job_id, a.computed_at"""


async def store_accuracy(pool: Pool, store_id: int, sku: str | None = None) -> list[dict[str, Any]]:
    """The stored live accuracy of the store's products (one SKU's when given)."""
    return await fetch_all(
        pool,
        f"""SELECT {ACCURACY_COLUMNS} FROM forecast_accuracy a JOIN products p ON p.product_id = a.product_id
             WHERE a.store_id = %s AND (%s::text IS NULL OR p.sku = %s) ORDER BY p.sku""",
        (store_id, sku, sku),
    )


class Live(TypedDict):
    """A product's live accuracy over the last 28 days (`forecast_accuracy`)."""

    sku: str
    model_version: int | None
    window_start: str
    window_end: str
    days_scored: int
    mase: float | None
    wape: float | None  # percent
    coverage80: float | None  # percent of days inside the 80% interval
    coverage95: float | None  # percent of days inside the 95% interval
    holdout_mase: float | None
    drift: bool
    retrain_job_id: str | None
    computed_at: str


class StoreAccuracy(TypedDict):
    products: int
    days_scored: int
    mase: float | None  # the mean over products
    wape: float | None  # weighted by scored days
    coverage80: float | None
    coverage95: float | None
    drifting: list[str]  # SKUs


class AccuracyReport(TypedDict):
    """The body of `GET /api/predict/accuracy`."""

    window_days: int
    store: StoreAccuracy
    items: list[Live]


class ModelStatus(TypedDict):
    """The body of `GET /api/predict/model/<sku>/status`."""

    product_sku: str
    product_name: str
    model: dict[str, Any] | None  # version, schema_version, method, trained_at, training window, data points, holdout
    live: Live | None
    drift: bool


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v) for k, v in row.items()}


def _live(row: dict[str, Any]) -> Live:
    r = _plain(row)
    for k in ("mase", "wape", "coverage80", "coverage95", "holdout_mase"):
        if r.get(k) is not None:
            r[k] = round(float(r[k]), 3 if k.endswith("mase") else 1)
    return cast(Live, r)  # the columns of ACCURACY_COLUMNS, dates as ISO strings


async def accuracy_report(pool: Pool, store_id: int, sku: str | None = None) -> AccuracyReport:
    """`GET /api/predict/accuracy`: per product live accuracy, and the store's pooled figures
    (WAPE and coverage weighted by scored days, MASE the mean over products)."""
    items = [_live(r) for r in await store_accuracy(pool, store_id, sku)]
    scored = [r for r in items if r["days_scored"]]
    days = sum(r["days_scored"] for r in scored)

    def weighted(key: Literal["wape", "coverage80", "coverage95"]) -> float | None:
        vals = [(v, r["days_scored"]) for r in scored if (v := r[key]) is not None]
        n = sum(w for _, w in vals)
        return round(sum(v * w for v, w in vals) / n, 1) if n else None

    mases = [r["mase"] for r in scored if r["mase"] is not None]
    return {
        "window_days": WINDOW_DAYS,
        "store": {
            "products": len(items),
            "days_scored": days,
            "mase": round(float(np.mean(mases)), 3) if mases else None,
            "wape": weighted("wape"),
            "coverage80": weighted("coverage80"),
            "coverage95": weighted("coverage95"),
            "drifting": [r["sku"] for r in items if r["drift"]],
        },
        "items": items,
    }


async def model_status(pool: Pool, store_id: int, sku: str) -> ModelStatus | None:
    """`GET /api/predict/model/<sku>/status`: the product's newest model and its live accuracy;
    None when the store has no such product."""
    product = await catalog.product_by_sku(pool, store_id, sku)
    if product is None:
        return None
    live = await store_accuracy(pool, store_id, sku)
    body: ModelStatus = {
        "product_sku": product["sku"],
        "product_name": product["name"],
        "model": None,
        "live": _live(live[0]) if live else None,
        "drift": bool(live and live[0]["drift"]),
    }
    row = await registry.latest(pool, store_id, product["product_id"])
    if row is not None:
        model = row["model"]
        body["model"] = {
            "model_id": row["model_id"],
            "version": row["version"],
            "schema_version": model.get("version"),
            "method": row["method"],
            "trained_at": row["trained_at"].isoformat() if row["trained_at"] else None,
            "train_start": _iso(row["train_start"]),
            "train_end": _iso(row["train_end"]),
            "data_points": model.get("n_obs"),
            "stockout_days": (model.get("metrics") or {}).get("stockout_days", 0),
            "holdout": chosen_holdout(model),
        }
    return body


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
