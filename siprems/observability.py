"""Summaries for operators: the JSON view of `/metrics`, queue gauges, and
`/cache-stats`. Reads the merged Prometheus text; no extra bookkeeping."""

from __future__ import annotations

import logging
import time
from collections import Counter as Tally

from prometheus_client.parser import text_string_to_metric_families

from siprems import keys

log = logging.getLogger("siprems.observability")


def _samples(text: str):
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            yield family.name, sample


def _quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """Upper bound of the bucket holding quantile q of a cumulative histogram."""
    if not buckets or buckets[-1][1] == 0:
        return None
    target = q * buckets[-1][1]
    for bound, count in buckets:
        if count >= target:
            return None if bound == float("inf") else bound
    return None


def summarise(text: str, instance: str) -> dict:
    requests = 0.0
    by_status: Tally = Tally()
    by_route: Tally = Tally()
    latency_sum = 0.0
    buckets: dict[float, float] = {}
    cache: Tally = Tally()
    in_flight = 0.0
    for _name, s in _samples(text):
        if s.name == "siprems_http_requests_total":
            requests += s.value
            by_status[s.labels["status"][0] + "xx"] += s.value
            by_route[f"{s.labels['method']} {s.labels['route']}"] += s.value
        elif s.name == "siprems_http_request_duration_seconds_sum":
            latency_sum += s.value
        elif s.name == "siprems_http_request_duration_seconds_bucket":
            le = float(s.labels["le"])
            buckets[le] = buckets.get(le, 0.0) + s.value
        elif s.name == "siprems_cache_requests_total":
            cache[s.labels["result"]] += s.value
        elif s.name == "siprems_http_requests_in_flight":
            in_flight += s.value
    ordered = sorted(buckets.items())
    lookups = cache["hit"] + cache["miss"]
    return {
        "summary": {
            "instance": instance,
            "total_requests": int(requests),
            "requests_by_status": {k: int(v) for k, v in sorted(by_status.items())},
            "errors_5xx": int(by_status.get("5xx", 0)),
            "avg_latency_ms": round(latency_sum / requests * 1000, 2) if requests else None,
            "p50_latency_ms_upper": _ms(_quantile(ordered, 0.5)),
            "p95_latency_ms_upper": _ms(_quantile(ordered, 0.95)),
            "p99_latency_ms_upper": _ms(_quantile(ordered, 0.99)),
            "in_flight": int(in_flight),
            "cache_hit_ratio": round(cache["hit"] / lookups, 4) if lookups else None,
        },
        "detailed": {"requests_by_route": {k: int(v) for k, v in by_route.most_common()}},
        "timestamp": time.time(),
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


async def queue_metrics_text(queue) -> bytes:
    """Queue depth, pending and dead letters as Prometheus gauges (live from Redis)."""
    try:  # provided by the jobs package
        from siprems.jobs.durations import render as job_durations
        from siprems.jobs.status import queue_status
    except ImportError:
        return b""
    try:
        status = await queue_status(queue)
    except Exception as exc:  # noqa: BLE001 - the queue being down must not break /metrics
        log.warning("queue status unavailable: %r", exc)
        return b"# queue status unavailable\n"
    lines = []
    for name, value in _flatten("siprems_queue", status):
        lines.append(f"{name} {value}")
    try:
        lines += await job_durations(queue)
    except Exception as exc:  # noqa: BLE001 - as above: never break /metrics
        log.warning("job durations unavailable: %r", exc)
    return ("\n".join(lines) + "\n").encode() if lines else b""


def _flatten(prefix: str, value, labels: str = ""):
    if isinstance(value, bool):
        yield f"{prefix}{labels}", int(value)
    elif isinstance(value, (int, float)):
        yield f"{prefix}{labels}", value
    elif isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(inner, dict) and all(isinstance(v, (int, float)) for v in inner.values()):
                for k2, v2 in inner.items():
                    yield f'{prefix}_{_clean(key)}{{name="{_clean(k2)}"}}', v2
            else:
                yield from _flatten(f"{prefix}_{_clean(key)}", inner, labels)


def _clean(text) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in str(text)).lower()


async def cache_stats(redis, metrics_text: str) -> dict:
    hits = misses = 0.0
    for _name, s in _samples(metrics_text):
        if s.name == "siprems_cache_requests_total":
            if s.labels["result"] == "hit":
                hits += s.value
            elif s.labels["result"] == "miss":
                misses += s.value
    result = {
        "available": True,
        "hits": int(hits),
        "misses": int(misses),
        "hit_ratio": round(hits / (hits + misses), 4) if hits + misses else None,
    }
    try:
        prefixes: Tally = Tally()
        scanned = 0
        async for key in redis.scan_iter(match=f"{keys.PREFIX}:*", count=1000):
            parts = key.decode(errors="replace").split(":")
            if len(parts) > 4 and parts[1] == "cache" and parts[2].isdigit():
                # siprems:cache:<store>:<generation>:<name...>: group by the name's kind
                prefixes[f"{parts[0]}:cache:*:{parts[4]}"] += 1
            else:
                prefixes[":".join(parts[:3])] += 1
            scanned += 1
            if scanned >= 20000:  # bounded: this is a diagnostic, not an inventory
                break
        memory = await redis.info("memory")
        result.update(
            keys_by_prefix=dict(prefixes.most_common()),
            keys_scanned=scanned,
            used_memory=memory.get("used_memory"),
            used_memory_human=memory.get("used_memory_human"),
            maxmemory_policy=memory.get("maxmemory_policy"),
        )
    except Exception as exc:  # noqa: BLE001 - /cache-stats reports an unavailable Redis, never fails
        log.warning("cache stats: redis unavailable: %r", exc)
        result.update(available=False)
    return result
