"""Emitting an event: one delivery row per subscribed endpoint, then one
`deliver_webhook` job per delivery (job id = delivery id, so a repeat enqueue
is a no-op). The row is written first: a delivery whose enqueue failed is
still in the log as `pending`."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from siprems import jsonutil
from siprems.db import Pool, fetch_all
from siprems.jobs import producer
from siprems.redis_client import Redis

log = logging.getLogger("siprems.webhooks")

JOB_TYPE = "deliver_webhook"


def envelope(delivery_id: str, event: str, store_id: int, data: object) -> dict[str, Any]:
    """`data`: anything jsonutil encodes (a dict, a response dataclass)."""
    return {
        "id": delivery_id,
        "event": event,
        "store_id": store_id,
        "created_at": datetime.now(UTC).isoformat(),
        "data": data,
    }


async def emit(
    pool: Pool,
    queue: Redis,
    store_id: int,
    event: str,
    data: object,
    *,
    webhook_id: int | None = None,
    key: str | None = None,
) -> list[str]:
    """Queue `event` for every active endpoint of the store subscribed to it
    (or for `webhook_id` only: the test ping). Returns the delivery ids.

    `key` makes a repeat (a job run twice) emit nothing new: the delivery id
    is derived from it and the endpoint."""
    hooks = await fetch_all(
        pool,
        """SELECT webhook_id FROM webhooks WHERE store_id = %s AND is_active
             AND (%s::bigint IS NULL AND %s = ANY(events) OR webhook_id = %s::bigint)""",
        (store_id, webhook_id, event, webhook_id),
    )
    if not hooks:
        return []
    ids = [uuid.uuid5(uuid.NAMESPACE_URL, f"{key}:{h['webhook_id']}").hex if key else uuid.uuid4().hex for h in hooks]
    payloads = [jsonutil.dumps_str(envelope(i, event, store_id, data)) for i in ids]
    await fetch_all(
        pool,
        """INSERT INTO webhook_deliveries (delivery_id, webhook_id, store_id, event, payload)
           SELECT d, w, %s, %s, p::jsonb FROM unnest(%s::text[], %s::bigint[], %s::text[]) AS r(d, w, p)
           ON CONFLICT (delivery_id) DO NOTHING RETURNING delivery_id""",
        (store_id, event, ids, [h["webhook_id"] for h in hooks], payloads),
    )
    await producer.enqueue_many(
        queue,
        [producer.JobSpec(JOB_TYPE, {"delivery_id": i}, store_id=store_id, job_id=f"webhook:{i}") for i in ids],
    )
    return ids


async def emit_quietly(
    pool: Pool, queue: Redis, store_id: int, event: str, data: object, *, key: str | None = None
) -> None:
    """`emit` for side paths (a sale, a receipt): a webhook problem is logged,
    never turned into a failed request whose effect already committed."""
    try:
        await emit(pool, queue, store_id, event, data, key=key)
    except Exception:
        log.exception("could not queue webhook event", extra={"store_id": store_id, "event": event})


async def redrive_pending(pool: Pool, queue: Redis, *, older_than_seconds: int = 120, limit: int = 1000) -> int:
    """Enqueue again deliveries still `pending` with no attempt (the process died
    between writing the row and enqueueing its job, or the queue was down).
    The job id is the delivery's, so a job still queued is not duplicated, and
    a delivery that succeeded meanwhile is not sent again."""
    rows = await fetch_all(
        pool,
        """SELECT delivery_id, store_id FROM webhook_deliveries
           WHERE status = 'pending' AND attempt_count = 0
             AND created_at < now() - make_interval(secs => %s) AND created_at > now() - interval '1 day'
           ORDER BY created_at LIMIT %s""",
        (older_than_seconds, limit),
    )
    specs = [
        producer.JobSpec(
            JOB_TYPE, {"delivery_id": r["delivery_id"]}, store_id=r["store_id"], job_id=f"webhook:{r['delivery_id']}"
        )
        for r in rows
    ]
    return sum(e.created for e in await producer.enqueue_many(queue, specs))
