"""The model registry in PostgreSQL (`forecast_models`): every API instance
and worker reads models from here; nothing is kept on local disk.

Versions are numbered per product under a transaction-level advisory lock
(safe through pgbouncer). A training run id (the job id) is unique per
product, so re-running the same job (at-least-once delivery) stores one
version, not two. The last KEEP_VERSIONS versions are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from siprems import jsonutil
from siprems.db import Pool, fetch_all, fetch_one, transaction

KEEP_VERSIONS = 5
_LOCK_NAMESPACE = 727_100  # advisory-lock key space: (namespace, product_id)

LATEST = """
SELECT model_id, version, method, model, metrics, train_start, train_end, data_fingerprint,
       training_run_id, trained_at
FROM forecast_models
WHERE store_id = %s AND product_id = %s
ORDER BY version DESC
LIMIT 1
"""

LATEST_ID = """
SELECT model_id, version, trained_at FROM forecast_models
WHERE store_id = %s AND product_id = %s ORDER BY version DESC LIMIT 1
"""


def chosen_holdout(model: dict[str, Any]) -> dict[str, Any]:
    """Holdout metrics of the method the model chose (MASE, sMAPE %, WAPE %, coverage %)."""
    holdout = (model.get("metrics") or {}).get("holdout") or {}
    chosen = holdout.get(model.get("method"))
    return chosen if isinstance(chosen, dict) else {}


async def latest(pool: Pool, store_id: int, product_id: int) -> dict[str, Any] | None:
    """The newest model row of a product (with its JSON), or None."""
    return await fetch_one(pool, LATEST, (store_id, product_id))


LATEST_MODELS = """
SELECT DISTINCT ON (product_id) product_id, version, model FROM forecast_models
WHERE store_id = %s AND product_id = ANY(%s)
ORDER BY product_id, version DESC
"""


async def latest_models(pool: Pool, store_id: int, product_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """product_id -> `{version, model}` of each product's newest model (products without one are absent)."""
    if not product_ids:
        return {}
    rows = await fetch_all(pool, LATEST_MODELS, (store_id, list(product_ids)))
    return {r["product_id"]: {"version": r["version"], "model": r["model"]} for r in rows}


async def latest_id(pool: Pool, store_id: int, product_id: int) -> dict[str, Any] | None:
    """Just the newest model's id and version (cheap: for cache keys)."""
    return await fetch_one(pool, LATEST_ID, (store_id, product_id))


async def save(
    pool: Pool, *, store_id: int, product_id: int, model: dict[str, Any], run_id: str | None
) -> dict[str, Any]:
    """Store a trained model as the product's next version; idempotent per run id.

    Returns `{model_id, version, created}`; `created` is False when this run
    id had already stored its version.
    """
    holdout = chosen_holdout(model)
    async with transaction(pool) as cur:
        await cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_NAMESPACE, product_id))
        if run_id:
            await cur.execute(
                "SELECT model_id, version FROM forecast_models WHERE product_id = %s AND training_run_id = %s",
                (product_id, run_id),
            )
            existing = await cur.fetchone()
            if existing:
                return {**dict(existing), "created": False}
        await cur.execute(
            """INSERT INTO forecast_models (store_id, product_id, version, method, model, metrics, train_start,
                                            train_end, data_fingerprint, training_run_id)
               SELECT %s, %s, coalesce(max(version), 0) + 1, %s, %s::jsonb, %s::jsonb, %s, %s, %s, %s
               FROM forecast_models WHERE product_id = %s
               RETURNING model_id, version""",
            (
                store_id,
                product_id,
                model["method"],
                jsonutil.dumps_str(model),
                jsonutil.dumps_str(holdout),
                model.get("train_start"),
                model.get("train_end"),
                model.get("fingerprint", ""),
                run_id,
                product_id,
            ),
        )
        row = dict(await cur.fetchone())
        await cur.execute(
            "DELETE FROM forecast_models WHERE product_id = %s AND version <= %s",
            (product_id, row["version"] - KEEP_VERSIONS),
        )
    return {**row, "created": True}
