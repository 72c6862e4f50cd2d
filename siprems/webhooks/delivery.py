"""One delivery attempt (the `deliver_webhook` job): check the address again,
POST the signed body, log the attempt; a non-2xx answer or a network error is
raised so the job runtime retries with back-off. Delivery is at least once:
a worker killed after the POST but before its acknowledgement sends again,
with the same X-Siprems-Delivery id."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx

from siprems import jsonutil
from siprems.db import Pool, execute, fetch_one
from siprems.jobs.context import JobContext
from siprems.jobs.errors import PermanentError
from siprems.webhooks import signing, urls

TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_LOGGED = 500


class DeliveryFailed(RuntimeError):
    """The endpoint did not accept the delivery (retried)."""


async def _log(pool: Pool, delivery_id: str, attempt: dict[str, Any], status: str) -> None:
    await execute(
        pool,
        """UPDATE webhook_deliveries SET status = %s, attempt_count = attempt_count + 1,
                  attempts = attempts || %s::jsonb, updated_at = now(),
                  delivered_at = CASE WHEN %s = 'succeeded' THEN now() ELSE delivered_at END
           WHERE delivery_id = %s""",
        (status, jsonutil.dumps_str([attempt]), status, delivery_id),
    )


async def deliver(ctx: JobContext, delivery_id: str, *, final_attempt: bool) -> dict[str, Any]:
    row = await fetch_one(
        ctx.pool,
        """SELECT d.delivery_id, d.event, d.payload, d.status, w.url, w.secret, w.is_active
           FROM webhook_deliveries d JOIN webhooks w USING (webhook_id) WHERE d.delivery_id = %s""",
        (delivery_id,),
    )
    if row is None:
        raise PermanentError(f"delivery {delivery_id} no longer exists (endpoint deleted)")
    if row["status"] == "succeeded":
        return {"delivery_id": delivery_id, "status": "succeeded", "repeat": True}
    attempt: dict[str, Any] = {"at": datetime.now(UTC).isoformat(), "attempt": ctx.attempt}
    body = jsonutil.dumps_str(row["payload"]).encode()
    started = time.perf_counter()
    try:
        target = await urls.resolve(row["url"], production=ctx.settings.is_production)
    except urls.UnsafeUrl as exc:
        attempt["error"] = exc.message
        await _log(ctx.pool, delivery_id, attempt, "failed")
        raise PermanentError(exc.message) from exc
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "siprems-webhooks/1",
        "Host": target.host_header,
        signing.HEADER: signing.header_value(row["secret"], body),
        signing.EVENT_HEADER: row["event"],
        signing.DELIVERY_HEADER: delivery_id,
    }
    extensions = {"sni_hostname": target.host} if target.url.startswith("https") else {}
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False, trust_env=False) as client:
            response = await client.post(target.url, content=body, headers=headers, extensions=extensions)
        attempt["status_code"] = response.status_code
        attempt["response"] = response.text[:MAX_RESPONSE_LOGGED]
        ok = 200 <= response.status_code < 300
    except httpx.HTTPError as exc:
        attempt["error"] = f"{type(exc).__name__}: {exc}"[:MAX_RESPONSE_LOGGED]
        ok = False
    attempt["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
    if ok:
        await _log(ctx.pool, delivery_id, attempt, "succeeded")
        return {"delivery_id": delivery_id, "status": "succeeded", "status_code": attempt["status_code"]}
    await _log(ctx.pool, delivery_id, attempt, "failed" if final_attempt else "retrying")
    raise DeliveryFailed(attempt.get("error") or f"endpoint answered {attempt.get('status_code')}")
