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


# Labelled children of the per-request metrics, looked up once per label set:
# `labels()` validates and hashes its arguments on every call.
_request_children: dict[tuple[str, str, int], tuple] = {}


def record_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one served request and its latency (the per-request hot path)."""
    children = _request_children.get((method, route, status))
    if children is None:
        children = _request_children[(method, route, status)] = (
            REQUESTS.labels(method, route, str(status)),
            LATENCY.labels(method, route),
        )
    children[0].inc()
    children[1].observe(seconds)


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
