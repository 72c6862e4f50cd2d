"""Daily sales series: open days with no sales are 0, closed days are NaN.

The models read NaN as *missing* (the shop was shut), never as zero demand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from .calendar import DateLike, to_date

# Sales as `(date, qty)` pairs, a date-indexed Series, or a mapping date -> qty.
Sales: TypeAlias = pd.Series | Mapping[Any, Any] | Iterable[tuple[Any, Any]]


def sale_pairs(sales: Sales) -> list[tuple[Any, Any]]:
    """The `(date, qty)` pairs of any form of `Sales`."""
    if isinstance(sales, pd.Series):
        return list(zip(sales.index, sales.to_numpy(), strict=False))
    if isinstance(sales, Mapping):
        return list(sales.items())
    return list(sales)


def daily_series(
    sales: Sales,
    closed_days: Iterable[DateLike] = (),
    *,
    start: DateLike | None = None,
    end: DateLike | None = None,
) -> pd.Series:
    """Build a daily float Series from ``sales``.

    ``sales`` is an iterable of ``(date, qty)`` pairs (several rows per day are
    summed), a ``pandas.Series`` indexed by date, or a mapping date -> qty.
    The index runs from ``start`` (default: first sale) to ``end`` (default:
    last sale).  Days in ``closed_days`` are NaN, even if sales were recorded
    (a closed day's stray sale is not a normal day); other days without sales
    are 0.  Negative quantities (returns) are kept in the daily sum but the
    daily total is floored at 0.
    """
    pairs = sale_pairs(sales)
    totals: dict[dt.date, float] = {}
    for d, q in pairs:
        if q is None or (isinstance(q, float) and np.isnan(q)):
            continue
        day = to_date(d)
        totals[day] = totals.get(day, 0.0) + float(q)
    closed = {to_date(d) for d in closed_days}
    if start is None and not totals:
        return pd.Series([], index=pd.DatetimeIndex([], freq="D"), dtype=float)
    first = to_date(start) if start is not None else min(totals)
    last = to_date(end) if end is not None else max(totals)
    if last < first:
        return pd.Series([], index=pd.DatetimeIndex([], freq="D"), dtype=float)
    index = pd.date_range(first, last, freq="D")
    values = np.zeros(len(index))
    for d, q in totals.items():
        i = (d - first).days
        if 0 <= i < len(values):
            values[i] = max(q, 0.0)
    for d in closed:
        i = (d - first).days
        if 0 <= i < len(values):
            values[i] = np.nan
    return pd.Series(values, index=index, name="qty")


def censor(y: pd.Series, days: Iterable[DateLike]) -> pd.Series:
    """``y`` with ``days`` (e.g. stock-outs) set to NaN: missing, whatever was sold."""
    marks = {to_date(d) for d in days}
    if not marks or len(y) == 0:
        return y
    mask = np.array([d.date() in marks for d in y.index], dtype=bool)
    if not mask.any():
        return y
    out = y.copy()
    out[mask] = np.nan
    return out


def trim_closed_edges(y: pd.Series) -> pd.Series:
    """Drop leading NaN days (a history cannot start on a closed day)."""
    valid = np.flatnonzero(~np.isnan(y.to_numpy()))
    if len(valid) == 0:
        return y.iloc[:0]
    return y.iloc[valid[0] :]


def fingerprint(y: pd.Series) -> str:
    """Stable short hash of the dates and values of a daily series."""
    h = hashlib.sha256()
    if len(y):
        h.update(y.index[0].strftime("%Y-%m-%d").encode())
        h.update(str(len(y)).encode())
        vals = np.round(y.to_numpy(dtype=float), 6)
        h.update(np.nan_to_num(vals, nan=-1.0).tobytes())
    return h.hexdigest()[:16]


def n_open_days(y: pd.Series) -> int:
    """Number of days with an observation (not NaN)."""
    return int(np.count_nonzero(~np.isnan(y.to_numpy(dtype=float))))
