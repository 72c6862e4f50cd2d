"""Asking the workers to (re)train products: one home for the job type, the
deduplication key and the debounce, used by the API (first prediction of a
product without a model, transaction imports) and by nothing that fits.

One training per product per `WINDOW_SECONDS` from these triggers: the key is
the product and the window, so a burst of imports, predictions and sales
queues one job. Imports are debounced by `DEBOUNCE_SECONDS` (a shop importing
several files trains once, on the whole history); a prediction waiting for a
model asks for it now.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from siprems.jobs import producer
from siprems.redis_client import Redis

JOB_TYPE = "train_product"
WINDOW_SECONDS = 300
DEBOUNCE_SECONDS = 10.0


def _key(product_id: int, now: float) -> str:
    return f"train:{product_id}:{int(now // WINDOW_SECONDS)}"


async def request_training(
    queue: Redis, store_id: int, products: Iterable[tuple[int, str]], *, debounce: bool = True
) -> list[str]:
    """Queue training for (product_id, sku) pairs; returns the job ids (existing
    ones when already queued in this window)."""
    now = time.time()
    due = now + DEBOUNCE_SECONDS if debounce else None
    specs = [
        producer.JobSpec(
            JOB_TYPE,
            {"product_id": product_id, "sku": sku},
            store_id=store_id,
            idempotency_key=_key(product_id, now),
            idempotency_ttl=2 * WINDOW_SECONDS,
            due_at=due,
        )
        for product_id, sku in products
    ]
    found = await producer.enqueue_many(queue, specs)
    if not debounce:  # an import's debounced job for the same product must not keep the caller waiting
        await producer.hurry(queue, [e.job_id for e in found if not e.created])
    return [e.job_id for e in found]
