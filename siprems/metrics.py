"""Prometheus metrics, aggregated over every Sanic worker of an instance.

prometheus-client's multiprocess mode: each worker writes its samples to
files in PROMETHEUS_MULTIPROC_DIR, which `siprems serve` creates (fresh) per
instance before the workers start (siprems/cli.py); `/metrics` merges them. The variable must
be set before this module is imported.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("siprems_http_requests_total", "HTTP requests served", ["method", "route", "status"])
LATENCY = Histogram(
    "siprems_http_request_duration_seconds", "HTTP request latency", ["method", "route"], buckets=LATENCY_BUCKETS
)
IN_FLIGHT = Gauge("siprems_http_requests_in_flight", "Requests being served", multiprocess_mode="livesum")
DB_POOL_SIZE = Gauge("siprems_db_pool_connections", "aiopg pool connections", ["state"], multiprocess_mode="livesum")
DB_POOL_WAITS = Counter("siprems_db_pool_waits_total", "Requests that waited for a pooled connection")
REDIS_LATENCY = Histogram(
    "siprems_redis_command_duration_seconds",
    "Redis command latency (cache reads)",
    ["command"],
    buckets=LATENCY_BUCKETS,
)
CACHE = Counter("siprems_cache_requests_total", "Cache lookups", ["result"])
FORECAST_FIT = Histogram(
    "siprems_forecast_fit_seconds",
    "Model fit + forecast time",
    ["method"],
    buckets=(0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10),
)
FORECAST_ERROR = Histogram(
    "siprems_forecast_holdout_wape",
    "Holdout WAPE of trained models",
    ["method"],
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0),
)
PREDICT_LATENCY = Histogram(
    "siprems_predict_duration_seconds", "Prediction answer time", ["source"], buckets=LATENCY_BUCKETS
)
CHAT_LATENCY = Histogram(
    "siprems_chat_provider_duration_seconds",
    "Assistant provider latency",
    ["provider"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CHAT_ERRORS = Counter("siprems_chat_provider_errors_total", "Assistant provider errors", ["provider", "kind"])


# Per-request metrics are tallied in process memory and written to the
# multiprocess files once a second (`flush_requests`, called by each worker):
# every prometheus value write costs an mmap update and a getpid() syscall,
# ~10% of a /health request when done per request. /metrics may lag by <= 1 s.
_BOUNDS = (*LATENCY_BUCKETS, float("inf"))
_tally: dict[tuple[str, str, int], list] = {}  # (method, route, status) -> [count, sum, per-bucket counts]
_in_flight = 0


def request_started() -> None:
    global _in_flight
    _in_flight += 1


def record_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one served request and its latency (the per-request hot path)."""
    global _in_flight
    _in_flight -= 1
    entry = _tally.get((method, route, status))
    if entry is None:
        entry = _tally[(method, route, status)] = [0, 0.0, [0] * len(_BOUNDS)]
    entry[0] += 1
    entry[1] += seconds
    buckets = entry[2]
    for i, bound in enumerate(_BOUNDS):
        if seconds <= bound:
            buckets[i] += 1
            break


def flush_requests() -> None:
    """Write the tallied requests into the Prometheus metrics (as `observe` would)."""
    IN_FLIGHT.set(_in_flight)
    if not _tally:
        return
    pending = list(_tally.items())
    _tally.clear()
    for (method, route, status), (count, total, buckets) in pending:
        REQUESTS.labels(method, route, str(status)).inc(count)
        child = LATENCY.labels(method, route)
        child._sum.inc(total)  # Histogram.observe's own fields, fed in bulk
        for i, n in enumerate(buckets):
            if n:
                child._buckets[i].inc(n)


def record_pool(size: int, free: int, maxsize: int) -> None:
    """DB pool gauges; set periodically by each worker, not per request."""
    DB_POOL_SIZE.labels("in_use").set(size - free)
    DB_POOL_SIZE.labels("idle").set(free)
    DB_POOL_SIZE.labels("max").set(maxsize)


def render() -> bytes:
    """The instance's metrics, merged over all its worker processes."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()


def worker_exited(pid: int) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)
