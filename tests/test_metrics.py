"""/metrics aggregates every Sanic worker of an instance; JSON summary;
/cache-stats; one structured log line per request."""

from __future__ import annotations

import json
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families


def _requests_total(text: str, route: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "siprems_http_requests_total" and s.labels.get("route") == route:
                total += s.value
    return total


def _latency_count(text: str, route: str) -> float:
    return sum(
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "siprems_http_request_duration_seconds_count" and s.labels.get("route") == route
    )


def test_metrics_aggregate_over_workers_of_one_instance(stack):
    api1 = f"http://127.0.0.1:{stack.ports.api[0]}"
    before = _requests_total(httpx.get(api1 + "/metrics").text, "/health")
    # New connection per request: the kernel spreads them over both workers.
    for _ in range(40):
        r = httpx.get(api1 + "/health", headers={"Connection": "close"})
        assert r.status_code == 200
    # Workers write their request tallies once a second: wait (bounded) for them.
    # The latency histogram is fed in bulk from the same tally, so its count
    # matches the request counter once both are written.
    deadline = time.monotonic() + 10
    while True:
        text = httpx.get(api1 + "/metrics").text
        total, count = _requests_total(text, "/health"), _latency_count(text, "/health")
        if (total - before >= 40 and count == total) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert total - before >= 40
    assert count == total
    # Samples from more than one worker were merged: the pool gauges carry
    # live per-process files; check the multiprocess dir has >1 worker file.
    metrics_dir = _metrics_dir_of(stack, "api1")
    worker_files = {p.name.split("_")[-1] for p in metrics_dir.glob("counter_*.db")}
    assert len(worker_files) >= 2, worker_files
    assert "siprems_http_request_duration_seconds_bucket" in text


def _metrics_dir_of(stack, name):
    import pathlib

    pid = stack.procs[name].pid
    import tempfile

    return pathlib.Path(tempfile.gettempdir()) / f"siprems-metrics-{pid}"


def _internal(stack) -> str:
    return f"http://127.0.0.1:{stack.ports.api[0]}"


def test_metrics_json_summary(stack, client):
    client.get("/health")
    r = httpx.get(_internal(stack) + "/metrics", params={"format": "json"})
    assert r.status_code == 200
    summary = r.json()["summary"]
    assert summary["total_requests"] >= 1
    assert "p95_latency_ms_upper" in summary


def test_cache_stats_shape(stack):
    r = httpx.get(_internal(stack) + "/cache-stats")
    assert r.status_code == 200
    body = r.json()
    assert body["available"] is True
    assert "hit_ratio" in body and "used_memory" in body


def test_one_json_log_line_per_request(stack, client):
    rid = f"logtest-{time.time_ns()}"
    client.get("/ready", headers={"X-Request-ID": rid})
    deadline = time.time() + 5
    found = None
    while time.time() < deadline and not found:
        for name in ("api1", "api2"):
            for line in (stack.root / "log" / f"{name}.log").read_text().splitlines():
                if rid in line and '"siprems.access"' in line:
                    found = json.loads(line)
        time.sleep(0.1)
    assert found, "no access log line"
    for key in ("request_id", "instance", "worker", "route", "status", "duration_ms"):
        assert key in found
    assert found["route"] == "/ready" and found["status"] == 200


def test_diagnostics_refuse_proxied_callers(stack):
    """Defect: /metrics, /cache-stats and /ready's details were public. A request that
    passed a proxy (X-Forwarded-For) is public even on an instance's own port."""
    proxied = {"X-Forwarded-For": "203.0.113.9"}
    for path in ("/metrics", "/cache-stats"):
        r = httpx.get(_internal(stack) + path, headers=proxied)
        assert r.status_code == 404 and r.json()["error"] == "not_found", path
        assert httpx.get(_internal(stack) + path).status_code == 200, path
    public = httpx.get(_internal(stack) + "/ready", headers=proxied)
    assert public.status_code == 200 and public.json() == {"status": "ready"}
    assert "checks" in httpx.get(_internal(stack) + "/ready").json()
