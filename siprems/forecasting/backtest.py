"""Rolling-origin backtest on the bakery data, through the production ``train()`` path.

Usage::

    python -m siprems.forecasting.backtest [--csv PATH] [--events PATH]
        [--from 2016-08-01] [--to 2017-07-31] [--horizons 7,28] [--step 7]
        [--groups 1,2,3,4,5] [--json] [--workers 2]

Protocol: origins every ``--step`` days from ``--from`` to ``--to``, kept only
while the longest horizon's window ends by the file's last day (so all
horizons use the same origins); windows without any observed day are
skipped.  Each origin trains on everything before it
(expanding window) with German holidays (DE, SH) and Kiel week, and forecasts
``max(horizons)`` days.  Days without a row are closed: missing in training,
never scored.  MASE = window MAE / in-sample weekly seasonal-naive MAE.
Aggregates: MASE and sMAPE are means over windows, WAPE and coverage are
pooled over all scored days.  ``fit_seconds_median`` is the median CPU time
(``time.process_time``, all threads of the worker) of one ``train()`` call
(selection + fit + forecast) - the single-core cost, unaffected by other
load on the machine; ``fit_wall_seconds_median`` is the wall time, which is
not.  The weekly seasonal naive is scored alongside.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path as FsPath
from typing import Any, TextIO

import numpy as np
import pandas as pd

from . import models, train
from .calendar import Event, load_events_csv
from .metrics import coverage, mase, naive_scale, smape
from .result import _clean

REPO_ROOT = FsPath(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT.parent / "shared" / "data"
DEFAULT_CSV = DATA_DIR / "bakery_train.csv"
DEFAULT_EVENTS = DATA_DIR / "kiel_week.csv"

_STATE: dict[str, Any] = {}  # set per worker process by `_init`


def load_bakery(path: str | os.PathLike[str]) -> dict[str, pd.Series]:
    """``{group: daily Series}``; days without a row are NaN (closed)."""
    df = pd.read_csv(path, parse_dates=["Datum"])
    last = df["Datum"].max()
    out = {}
    for g, part in df.groupby("Warengruppe"):
        s = part.groupby("Datum")["Umsatz"].sum().sort_index()
        # every series runs to the file's last day: a seasonal group's missing
        # rows after its season are closed days too
        idx = pd.date_range(s.index[0], last, freq="D")
        out[str(g)] = s.reindex(idx).astype(float)
    return out


def origins(start: dt.date, end: dt.date, step: int, last_day: dt.date, horizon: int) -> list[dt.date]:
    """Origins from ``start`` every ``step`` days, <= ``end``, whose window ends by ``last_day``."""
    out, o = [], start
    while o <= end and o + dt.timedelta(days=horizon - 1) <= last_day:
        out.append(o)
        o += dt.timedelta(days=step)
    return out


def _init(series: dict[str, pd.Series], events: list[Event]) -> None:
    _STATE["series"] = series
    _STATE["events"] = events


def _run_window(job: tuple[str, dt.date, list[int]]) -> dict[str, Any] | None:
    """Train at one origin; return per-horizon scores for the model and the naive."""
    key, origin, horizons = job
    y = _STATE["series"][key]
    events = _STATE["events"]
    o = pd.Timestamp(origin)
    hist = y[y.index < o]
    if hist.notna().sum() == 0:
        return None
    H = max(horizons)
    actual = y.reindex(pd.date_range(o, periods=H, freq="D")).to_numpy()
    if np.isnan(actual).all():
        return None
    sales = [(d.date(), v) for d, v in hist.items() if not np.isnan(v)]
    closed = [d.date() for d, v in hist.items() if np.isnan(v)]
    t0, c0 = time.perf_counter(), time.process_time()
    model = train(sales, closed_days=closed, events=events, country="DE", subdiv="SH", today=origin, horizon=H)
    fit_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    path = model.path
    first_obs = hist.index[np.flatnonzero(hist.notna().to_numpy())[0]]
    hist = hist[hist.index >= first_obs]
    naive = models.seasonal_naive(hist, None, H)
    scale = naive_scale(hist.to_numpy())
    out: dict[str, Any] = {
        "key": key,
        "origin": origin.isoformat(),
        "method": model.method,
        "fit_s": fit_s,
        "cpu_s": cpu_s,
        "h": {},
    }
    for h in horizons:
        a = actual[:h]
        if np.isnan(a).all():
            continue
        m = ~np.isnan(a)
        f = np.asarray(path["yhat"][:h])
        out["h"][h] = {
            "mase": mase(a, f, scale),
            "smape": smape(a, f),
            "ae": float(np.abs(a[m] - f[m]).sum()),
            "act": float(np.abs(a[m]).sum()),
            "cov_n": float(coverage(a, path["lo95"][:h], path["hi95"][:h]) * m.sum() / 100.0),
            "n": int(m.sum()),
            "naive_mase": mase(a, naive.yhat[:h], scale),
            "naive_smape": smape(a, naive.yhat[:h]),
            "naive_ae": float(np.abs(a[m] - naive.yhat[:h][m]).sum()),
            "naive_cov_n": float(coverage(a, naive.lo95[:h], naive.hi95[:h]) * m.sum() / 100.0),
        }
    return out


def _summarise(rows: list[dict[str, Any]], h: int, prefix: str = "") -> dict[str, Any]:
    w = [r["h"][h] for r in rows if h in r["h"] and np.isfinite(r["h"][h][prefix + "mase"])]
    if not w:
        return {"mase": None, "smape": None, "wape": None, "coverage95": None, "windows": 0}
    act = sum(x["act"] for x in w)
    n = sum(x["n"] for x in w)
    return {
        "mase": float(np.mean([x[prefix + "mase"] for x in w])),
        "smape": float(np.mean([x[prefix + "smape"] for x in w])),
        "wape": float(100.0 * sum(x[prefix + "ae"] for x in w) / act) if act else None,
        "coverage95": float(100.0 * sum(x[prefix + "cov_n"] for x in w) / n) if n else None,
        "windows": len(w),
    }


def run(
    csv: str | os.PathLike[str],
    events_path: str | os.PathLike[str] | None,
    start: dt.date,
    end: dt.date,
    horizons: list[int],
    step: int,
    groups: list[str],
    workers: int = 2,
) -> dict[str, Any]:
    """Run the backtest; return the JSON-ready result."""
    series = load_bakery(csv)
    keys = [g for g in groups if g in series]
    events = load_events_csv(str(events_path)) if events_path else []
    H = max(horizons)
    jobs = []
    for k in keys:
        last = series[k].index[-1].date()
        for o in origins(start, end, step, last, H):
            jobs.append((k, o, horizons))
    if workers > 1 and len(jobs) > 1:
        import multiprocessing as mp

        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
        with ctx.Pool(workers, initializer=_init, initargs=(series, events)) as pool:
            results = pool.map(_run_window, jobs, chunksize=max(1, len(jobs) // (workers * 8)))
    else:
        _init(series, events)
        results = [_run_window(j) for j in jobs]
    rows = [r for r in results if r]
    fit_med = float(np.median([r["cpu_s"] for r in rows])) if rows else None
    wall_med = float(np.median([r["fit_s"] for r in rows])) if rows else None
    agg, base = {}, {}
    for h in horizons:
        agg[str(h)] = {**_summarise(rows, h), "fit_seconds_median": fit_med, "fit_wall_seconds_median": wall_med}
        base[str(h)] = _summarise(rows, h, "naive_")
    per = []
    for k in keys:
        rk = [r for r in rows if r["key"] == k]
        methods: dict[str, int] = {}
        for r in rk:
            methods[r["method"]] = methods.get(r["method"], 0) + 1
        for h in horizons:
            per.append(
                {
                    "series": k,
                    "horizon": h,
                    **_summarise(rk, h),
                    "naive": _summarise(rk, h, "naive_"),
                    "methods": methods,
                }
            )
    return {
        "aggregate": agg,
        "series": per,
        "baseline_seasonal_naive": base,
        "protocol": {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "step": step,
            "horizons": horizons,
            "groups": keys,
            "windows": len(rows),
            "origins": sorted({r["origin"] for r in rows})[:1] + sorted({r["origin"] for r in rows})[-1:],
        },
    }


def _fmt(x: float | None, nd: int = 3) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def print_table(res: dict[str, Any], out: TextIO | None = None) -> None:
    out = out or sys.stdout
    p = res["protocol"]
    print(
        f"rolling origins {p['origins']} step {p['step']}d, windows {p['windows']}, groups {','.join(p['groups'])}",
        file=out,
    )
    print(
        f"{'series':>8} {'h':>3} {'MASE':>7} {'naive':>7} {'sMAPE%':>7} {'WAPE%':>7} {'cov95%':>7} {'win':>4}  methods",
        file=out,
    )
    for r in res["series"]:
        print(
            f"{r['series']:>8} {r['horizon']:>3} {_fmt(r['mase']):>7} {_fmt(r['naive']['mase']):>7} "
            f"{_fmt(r['smape'], 1):>7} {_fmt(r['wape'], 1):>7} {_fmt(r['coverage95'], 1):>7} "
            f"{r['windows']:>4}  {r['methods']}",
            file=out,
        )
    print("aggregate:", file=out)
    for h, a in res["aggregate"].items():
        b = res["baseline_seasonal_naive"][h]
        print(
            f"  h{h:<3} MASE {_fmt(a['mase'])} (naive {_fmt(b['mase'])})  sMAPE {_fmt(a['smape'], 1)}% "
            f"(naive {_fmt(b['smape'], 1)}%)  WAPE {_fmt(a['wape'], 1)}% (naive {_fmt(b['wape'], 1)}%)  "
            f"cov95 {_fmt(a['coverage95'], 1)}% (naive {_fmt(b['coverage95'], 1)}%)  "
            f"fit median {_fmt(a['fit_seconds_median'])} s cpu "
            f"({_fmt(a['fit_wall_seconds_median'])} s wall)",
            file=out,
        )


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "backtest":
        argv = argv[1:]
    ap = argparse.ArgumentParser(prog="siprems backtest", description=__doc__.split("\n")[0])
    ap.add_argument("--csv", default=str(DEFAULT_CSV))
    ap.add_argument("--events", default=str(DEFAULT_EVENTS))
    ap.add_argument("--from", dest="start", default="2016-08-01")
    ap.add_argument("--to", dest="end", default="2017-07-31")
    ap.add_argument("--horizons", default="7,28")
    ap.add_argument("--step", type=int, default=7)
    ap.add_argument("--groups", default="1,2,3,4,5")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    try:
        horizons = sorted({int(h) for h in args.horizons.split(",") if h.strip()})
        groups = [g.strip() for g in args.groups.split(",") if g.strip()]
        start, end = dt.date.fromisoformat(args.start), dt.date.fromisoformat(args.end)
    except ValueError as exc:
        print(f"bad argument: {exc}", file=sys.stderr)
        return 2
    if not FsPath(args.csv).exists():
        print(f"data file not found: {args.csv}", file=sys.stderr)
        return 2
    events = args.events if args.events and FsPath(args.events).exists() else None
    res = run(args.csv, events, start, end, horizons, max(args.step, 1), groups, args.workers)
    if args.json:
        print(json.dumps(_clean(res), allow_nan=False))
    else:
        print_table(res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
