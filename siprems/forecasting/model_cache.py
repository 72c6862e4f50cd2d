"""Newest forecast models for the stock policy, parsed once per process.

The stock policy reads every product's newest model on each catalogue,
dashboard or status read, and a busy shop's sales invalidate those reads
often. A stored model is ~45 KB of JSON (a year of path rows, parameters,
driver terms): reading and parsing it per product per read was the largest
cost of those endpoints (PostgreSQL turning jsonb into text, pgbouncer moving
it, the API parsing it). A stored model never changes — a retrain stores a new
version with a new `model_id` — so a parsed copy keyed by `model_id` cannot go
stale: the one query per read asks only which model ids are newest, and only
ids this process has not seen are read, without parameters and metrics.

Bounded: `MAX_MODELS` entries of ~15 KB (the path as float arrays), least
recently used first out. Nothing a request depends on lives only here.
"""

from __future__ import annotations

import logging
from array import array
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from siprems.db import Pool, fetch_all

from .result import PATH_KEYS, ForecastModel

log = logging.getLogger("siprems.forecasting")

MAX_MODELS = 4096

NEWEST_IDS = """
SELECT DISTINCT ON (product_id) product_id, model_id, version FROM forecast_models
WHERE store_id = %s AND product_id = ANY(%s)
ORDER BY product_id, version DESC
"""

# The path and facts only: parameters and metrics (driver terms) are most of a model's bytes.
PATHS = """
SELECT model_id, model - 'params' - 'metrics' AS model FROM forecast_models
WHERE store_id = %s AND model_id = ANY(%s)
"""


def newest_column(product: str) -> str:
    """A select-list subquery: `[model_id, version]` of the newest model of the
    product row `product`, or NULL (the same choice as `NEWEST_IDS`)."""
    return f"""(SELECT ARRAY[m.model_id, m.version] FROM forecast_models m
                 WHERE m.store_id = {product}.store_id AND m.product_id = {product}.product_id
                 ORDER BY m.version DESC LIMIT 1)"""


@dataclass(frozen=True)
class Newest:
    model_id: int
    version: int
    model: ForecastModel  # path and facts; `params` and `metrics` left out


_parsed: OrderedDict[int, ForecastModel] = OrderedDict()


def _compact(stored: dict[str, Any]) -> ForecastModel:
    model = ForecastModel.from_dict(stored)
    model.path = {k: array("d", model.path[k]) for k in PATH_KEYS}
    return model


def _remember(model_id: int, model: ForecastModel) -> None:
    _parsed[model_id] = model
    while len(_parsed) > MAX_MODELS:
        _parsed.popitem(last=False)


async def newest(pool: Pool, store_id: int, product_ids: Sequence[int]) -> dict[int, Newest]:
    """product_id -> its newest model (products without one are absent)."""
    if not product_ids:
        return {}
    return await parsed(pool, store_id, await fetch_all(pool, NEWEST_IDS, (store_id, list(product_ids))))


async def parsed(pool: Pool, store_id: int, rows: Sequence[dict[str, Any]]) -> dict[int, Newest]:
    """`rows` of `{product_id, model_id, version}` (newest ids already known, e.g. from
    `newest_column`) -> product_id -> Newest; reads only the models this process has not parsed."""
    missing = [r["model_id"] for r in rows if r["model_id"] not in _parsed]
    if missing:
        for found in await fetch_all(pool, PATHS, (store_id, missing)):
            try:
                _remember(found["model_id"], _compact(found["model"]))
            except (KeyError, TypeError, ValueError) as exc:  # an unreadable model counts as none
                log.warning("unreadable forecast model %s: %r", found["model_id"], exc)
    out = {}
    for r in rows:
        model = _parsed.get(r["model_id"])
        if model is not None:
            _parsed.move_to_end(r["model_id"])
            out[r["product_id"]] = Newest(r["model_id"], r["version"], model)
    return out
