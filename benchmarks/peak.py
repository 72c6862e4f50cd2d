"""Peak throughput (`make bench`), every row measured in one run on one machine.

wrk at fixed concurrency against a fresh stack with the demo shop: first a
bare Sanic app with the same worker count answering fixed JSON (the ceiling),
then `/health`, the cached product list (the demo shop's 22 products, and a shop with the
load test's 6), a product's detail, the transactions
list, the dashboard, a cached prediction (from a trained model) and a single
sale (`POST /api/transactions`, a new Idempotency-Key per request) — directly
against one API instance and through HAProxy. Each row: req/s, p50/p99, the
stack's CPU per request (every process of the stack, from /proc; the bare app's
own processes for the ceiling; wrk excluded) and the ratio to the ceiling.

Rate limits are raised for this stack: it measures capacity, not the limiter.
Environment: BENCH_SECONDS (10), BENCH_CONNECTIONS (50), BENCH_THREADS (2).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg2
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devtools.stack import DB_USER, Stack
from loadtests.proc_cpu import cpu_by_component, delta
from siprems.demo.seed import DEMO_EMAIL, DEMO_PASSWORD, seed

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "50"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
STACK = ("api", "postgresql", "pgbouncer", "redis", "haproxy", "workers")

LUA = """
wrk.method = "{method}"
wrk.headers["Authorization"] = "Bearer {token}"
wrk.headers["Content-Type"] = "application/json"
{body}
counter = 0
request = function()
  counter = counter + 1
  {per_request}
  return wrk.format()
end
"""
NEW_KEY = 'wrk.headers["Idempotency-Key"] = string.format("bench-%d-%d-%d", os.time(), math.random(1e9), counter)'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wrk(
    url: str, method: str, token: str, body: str | None, fresh_key: bool, workdir: Path, sessions: set[int]
) -> dict:
    """One wrk run; `sessions`: the session ids whose processes' CPU is counted."""
    script = workdir / "req.lua"
    script.write_text(
        LUA.format(
            method=method,
            token=token,
            body=f"wrk.body = '{body}'" if body else "",
            per_request=NEW_KEY if fresh_key else "",
        )
    )
    before = cpu_by_component(sessions)
    out = subprocess.run(
        ["wrk", "-t", str(THREADS), "-c", str(CONNECTIONS), "-d", f"{SECONDS}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    used = delta(before, cpu_by_component(sessions))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.MULTILINE))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": requests,
        "p50": lat.get("50", "?"),
        "p99": lat.get("99", "?"),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "cpu": used,
    }


def _round_trips(stack: Stack) -> dict[str, int]:
    """Counters of the services a request talks to: queries pgbouncer relayed
    (SHOW STATS: one per round trip) and commands each Redis processed (INFO
    stats; a cached read is one EVALSHA round trip whose GETs count too)."""
    conn = psycopg2.connect(
        host="127.0.0.1", port=stack.ports.pgbouncer, dbname="pgbouncer", user=DB_USER, password=stack.password
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SHOW STATS")
        cols = [c.name for c in cur.description]
        queries = sum(row[cols.index("total_query_count")] for row in cur.fetchall())
    conn.close()
    out = {"db": int(queries)}
    for name, port in (("redis", stack.ports.redis), ("queue", stack.ports.queue)):
        with redis.Redis(port=port) as r:
            out[name] = int(r.info("stats")["total_commands_processed"])
    return out


def _small_shop(base: str) -> str:
    """A token of a fresh shop with the load test's catalogue (6 products, as in
    loadtests/locustfile.py and the capacity issue's own peak measurement)."""
    email, password = f"bench-{uuid.uuid4().hex[:10]}@example.com", f"Bench-{uuid.uuid4().hex[:12]}"
    httpx.post(base + "/api/auth/register", json={"email": email, "password": password, "full_name": "Bench"})
    r = httpx.post(base + "/api/auth/login", json={"email": email, "password": password}, timeout=30)
    r.raise_for_status()
    token = r.json()["access_token"]
    products = [
        {
            "sku": f"LT-{i:03d}",
            "name": f"Load product {i}",
            "category": "Snacks",
            "price": 5000 + 500 * i,
            "stock": 10**6,
        }
        for i in range(6)
    ]
    httpx.post(
        base + "/api/products/import", json={"products": products}, headers={"Authorization": f"Bearer {token}"}
    ).raise_for_status()
    return token


def _wait_for_model(base: str, headers: dict, body: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        r = httpx.post(base + "/api/predict", content=body, headers=headers, timeout=30)
        if r.status_code == 200 and not r.json()["model"]["provisional"]:
            return
        time.sleep(0.5)
    raise TimeoutError("no trained model within 120 s")


def main() -> int:
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    os.environ.update(RATE_GENERAL="100000000", RATE_CHAT="100000000", RATE_PREDICT="100000000", RATE_AUTH="100000000")
    root = Path(tempfile.mkdtemp(prefix="siprems-bench-"))
    stack = Stack(root=root)
    bare = None
    try:
        stack.start_all()
        stack.start("worker", wait_port=0)
        print(seed(stack.direct_url))
        token = httpx.post(
            stack.base_url + "/api/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        predict_body = '{"product_sku": "BEV-001", "days": 14}'
        _wait_for_model(stack.base_url, headers, predict_body)  # trained by the worker, then cached
        stack.stop("worker")  # idle from here: it would only add noise
        sale = httpx.post(
            stack.base_url + "/api/products",
            headers=headers,
            json={"sku": "BENCH-1", "name": "Bench item", "category": "Bench", "price": 1000, "stock": 10**9},
        )
        sale.raise_for_status()
        sale_body = '{"product_sku": "BENCH-1", "quantity": 1}'
        bare_port = _free_port()
        bare = subprocess.Popen(
            [sys.executable, str(ROOT / "benchmarks" / "bare_sanic.py"), "--port", str(bare_port), "--workers", "2"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{bare_port}/", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        small = _small_shop(stack.base_url)
        cases = [
            ("GET /health", "/health", "GET", None, False),
            ("GET /api/products (cached)", "/api/products", "GET", None, False),
            ("GET /api/products (cached, 6 products)", "/api/products", "GET", None, False, small),
            ("GET /api/products/<sku>", "/api/products/BEV-001", "GET", None, False),
            ("GET /api/transactions", "/api/transactions?limit=50", "GET", None, False),
            ("GET /api/dashboard-stats", "/api/dashboard-stats", "GET", None, False),
            ("POST /api/predict (cached)", "/api/predict", "POST", predict_body, False),
            ("POST /api/transactions (sale)", "/api/transactions", "POST", sale_body, True),
        ]
        print(
            f"\nwrk: {CONNECTIONS} connections, {THREADS} threads, {SECONDS} s per row; "
            f"{os.cpu_count()} cores shared by wrk and the stack; 2 Sanic workers per instance\n"
        )
        print("| target | endpoint | req/s | p50 | p99 | CPU ms/req | ratio to ceiling | non-2xx |")
        print("|---|---|---:|---:|---:|---:|---:|---:|")
        ceiling = _wrk(f"http://127.0.0.1:{bare_port}/", "GET", token, None, False, root, {bare.pid})
        ceiling_cpu = ceiling["cpu"].get("bare sanic", 0.0) * 1000 / max(ceiling["requests"], 1)
        print(
            f"| bare Sanic | GET / (fixed JSON) | {ceiling['rps']:.0f} | {ceiling['p50']} | {ceiling['p99']} | "
            f"{ceiling_cpu:.2f} | 1.00 | {ceiling['non2xx']} |",
            flush=True,
        )
        bare.terminate()
        bare.wait(10)
        bare = None
        breakdown = []
        sessions = {p.pid for p in stack.procs.values()}  # every service leads its own session
        for label, base in (("api1 direct", f"http://127.0.0.1:{stack.ports.api[0]}"), ("HAProxy", stack.base_url)):
            for name, path, method, body, fresh, *shop in cases:
                trips = _round_trips(stack)
                r = _wrk(base + path, method, shop[0] if shop else token, body, fresh, root, sessions)
                n = max(r["requests"], 1)
                after = _round_trips(stack)
                per = {k: (after[k] - trips[k]) / n for k in after}  # the counter reads themselves: negligible
                cpu_ms = sum(r["cpu"].get(c, 0.0) for c in STACK) * 1000 / n
                print(
                    f"| {label} | {name} | {r['rps']:.0f} | {r['p50']} | {r['p99']} | {cpu_ms:.2f} | "
                    f"{r['rps'] / ceiling['rps']:.2f} | {r['non2xx']} |",
                    flush=True,
                )
                parts = ", ".join(f"{c} {r['cpu'].get(c, 0.0) * 1000 / n:.2f}" for c in STACK if r["cpu"].get(c))
                trips_text = (
                    f"per request: DB queries {per['db']:.2f}, Redis commands (those inside a Lua script "
                    f"included) cache {per['redis']:.2f}, queue {per['queue']:.2f}"
                )
                breakdown.append(f"- {label} {name}: {parts}; {trips_text}")
        print("\nCPU ms per request by component, DB queries and Redis commands per request:\n" + "\n".join(breakdown))
    finally:
        if bare is not None:
            bare.terminate()
        stack.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
