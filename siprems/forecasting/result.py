"""The serialisable outcome of training: :class:`ForecastModel`.

It stores the chosen method, its parameters, holdout metrics, the training
window, a fingerprint of the training series and the forecast path (one row
per day from the training end), so an API can answer without refitting.
``to_dict()`` gives plain JSON types only (str, float, int, list, dict).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .calendar import to_date

PATH_KEYS = ("yhat", "lo80", "hi80", "lo95", "hi95")
# 1: hand-written ETS + ridge (params["ets"] = {alpha, gamma, level, season, ...});
# 2: statsmodels (params["engine"] = "statsmodels", params["ets"]["params"] = smoothing parameters).
# A stored model answers from its stored path whatever its version; only warm starts read params.
SCHEMA_VERSION = 2


def _clean(obj: Any) -> Any:
    """Recursively convert to JSON-safe plain types (NaN/inf -> None)."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, (dt.date, dt.datetime)):
        return obj.isoformat()
    if hasattr(obj, "item"):  # numpy scalar
        obj = obj.item()
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    return str(obj)


@lru_cache(maxsize=512)
def _parse_day(value: str) -> dt.date:
    return to_date(value)


def _day(value: dt.date | str) -> dt.date:
    return value if type(value) is dt.date else _parse_day(value) if isinstance(value, str) else to_date(value)


@lru_cache(maxsize=256)
def _iso_days(first_ordinal: int, count: int) -> tuple[str, ...]:
    """ISO dates of `count` days from the ordinal `first_ordinal` (shared by every product's path)."""
    return tuple(dt.date.fromordinal(first_ordinal + i).isoformat() for i in range(count))


@dataclass
class ForecastModel:
    """A trained forecast for one product (see module docstring)."""

    method: str
    start: str  # first forecast day (ISO); the path starts here
    train_start: str | None
    train_end: str | None  # last history day (ISO)
    fingerprint: str
    n_obs: int
    path: Mapping[str, Sequence[float]]  # PATH_KEYS -> one value per day from ``start``
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    country: str | None = None
    subdiv: str | None = None
    version: int = SCHEMA_VERSION

    # -- serialisation -----------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        clean: dict[str, Any] = _clean(
            {
                "version": self.version,
                "method": self.method,
                "start": self.start,
                "train_start": self.train_start,
                "train_end": self.train_end,
                "fingerprint": self.fingerprint,
                "n_obs": self.n_obs,
                "country": self.country,
                "subdiv": self.subdiv,
                "params": self.params,
                "metrics": self.metrics,
                "path": {k: [float(v) for v in self.path[k]] for k in PATH_KEYS},
            }
        )
        return clean

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ForecastModel:
        return cls(
            method=d["method"],
            start=d["start"],
            train_start=d.get("train_start"),
            train_end=d.get("train_end"),
            fingerprint=d.get("fingerprint", ""),
            n_obs=int(d.get("n_obs", 0)),
            path={k: [float(v) for v in d["path"][k]] for k in PATH_KEYS},
            params=d.get("params") or {},
            metrics=d.get("metrics") or {},
            country=d.get("country"),
            subdiv=d.get("subdiv"),
            version=int(d.get("version", SCHEMA_VERSION)),
        )

    # -- reading the stored path -------------------------------------------
    @property
    def horizon(self) -> int:
        return len(self.path["yhat"])

    def forecast(self, start: dt.date | str | None = None, days: int = 28) -> list[dict[str, Any]]:
        """Rows ``{date, yhat, lo80, hi80, lo95, hi95}`` for ``days`` days from ``start``.

        Days before the path start are skipped (no back-casts).  Days past the
        stored path are extended from the same weekday 52 weeks earlier in the
        path, with the interval widened by sqrt(years ahead); with a path
        shorter than 364 days the last stored week is repeated instead.
        """
        first = _day(self.start)
        first_day = _day(start) if start is not None else first
        n = self.horizon
        if n == 0 or days <= 0:
            return []
        k0 = (first_day - first).days
        lo, stop = max(k0, 0), k0 + days  # path indexes asked: [lo, stop)
        end = min(stop, n)
        rows: list[dict[str, Any]] = []
        if end > lo:
            # The stored part, column slices zipped: the stock policy asks for a
            # year of rows per product on every catalogue or dashboard miss.
            p = self.path
            columns = (p["yhat"][lo:end], p["lo80"][lo:end], p["hi80"][lo:end], p["lo95"][lo:end], p["hi95"][lo:end])
            rows = [
                {"date": d, "yhat": y, "lo80": a, "hi80": b, "lo95": c, "hi95": e}
                for d, y, a, b, c, e in zip(_iso_days(first.toordinal() + lo, end - lo), *columns, strict=True)
            ]
        for k in range(max(lo, n), stop):
            rows.append({"date": (first + dt.timedelta(days=k)).isoformat(), **self._value(k)})
        return rows

    def _value(self, k: int) -> dict[str, float]:
        n = self.horizon
        if k < n:
            return {key: self.path[key][k] for key in PATH_KEYS}
        period = 364 if n >= 364 else 7
        base = n - period + ((k - n) % period) if n >= period else n - 1
        widen = math.sqrt(1.0 + (k - base) / 364.0)
        y = self.path["yhat"][base]
        out = {"yhat": y}
        for key in ("lo80", "lo95"):
            out[key] = max(y - (y - self.path[key][base]) * widen, 0.0)
        for key in ("hi80", "hi95"):
            out[key] = y + (self.path[key][base] - y) * widen
        return out

    def total(self, start: dt.date | str | None = None, days: int = 28) -> float:
        """Sum of ``yhat`` over ``days`` days from ``start``."""
        return float(sum(r["yhat"] for r in self.forecast(start, days)))
