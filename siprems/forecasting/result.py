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
        first = to_date(self.start)
        first_day = to_date(start) if start is not None else first
        n = self.horizon
        rows = []
        for i in range(max(days, 0)):
            day = first_day + dt.timedelta(days=i)
            k = (day - first).days
            if k < 0 or n == 0:
                continue
            rows.append({"date": day.isoformat(), **self._value(k)})
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
