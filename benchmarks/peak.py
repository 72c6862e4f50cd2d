"""Peak throughput (`make bench`): wrk at fixed concurrency against a fresh
stack with the demo shop — `/health` (the ceiling), the authenticated product
list, the dashboard, and a cached prediction — through HAProxy and directly
against one instance. Prints requests/s, p50/p99 and each endpoint's ratio to
`/health` measured in the same run.

Rate limits are raised for this stack: it measures capacity, not the limiter.
Environment: BENCH_SECONDS (10), BENCH_CONNECTIONS (64), BENCH_THREADS (2).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from siprems.demo.seed import DEMO_EMAIL, DEMO_PASSWORD, seed  # noqa: E402
from siprems.devtools.stack import Stack  # noqa: E402

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))

LUA = """
wrk.method = "{method}"
wrk.headers["Authorization"] = "Bearer {token}"
wrk.headers["Content-Type"] = "application/json"
{body}
"""


def _wrk(url: str, method: str, token: str, body: str | None, workdir: Path) -> dict:
    script = workdir / "req.lua"
    script.write_text(LUA.format(method=method, token=token, body=f"wrk.body = '{body}'" if body else ""))
    out = subprocess.run(
        ["wrk", "-t", str(THREADS), "-c", str(CONNECTIONS), "-d", f"{SECONDS}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50": lat.get("50", "?"),
        "p99": lat.get("99", "?"),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


def main() -> int:
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    os.environ.update(RATE_GENERAL="100000000", RATE_CHAT="100000000", RATE_PREDICT="100000000", RATE_AUTH="100000000")
    root = Path(tempfile.mkdtemp(prefix="siprems-bench-"))
    stack = Stack(root=root)
    try:
        stack.start_all()
        print(seed(stack.direct_url))
        token = httpx.post(
            stack.base_url + "/api/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        predict_body = '{"product_sku": "BEV-001", "days": 14}'
        assert (
            httpx.post(stack.base_url + "/api/predict", content=predict_body, headers=headers, timeout=120).status_code
            == 200
        )  # trains once, then cached
        cases = [
            ("/health", "GET", None),
            ("/api/products", "GET", None),
            ("/api/dashboard-stats", "GET", None),
            ("/api/predict", "POST", predict_body),
        ]
        targets = [("HAProxy", stack.base_url), ("api1 direct", f"http://127.0.0.1:{stack.ports.api[0]}")]
        print(
            f"\nwrk: {CONNECTIONS} connections, {THREADS} threads, {SECONDS} s per row; "
            f"{os.cpu_count()} cores shared by wrk and the stack\n"
        )
        print("| target | endpoint | req/s | p50 | p99 | ratio to /health | non-2xx |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for label, base in targets:
            ceiling = None
            for path, method, body in cases:
                r = _wrk(base + path, method, token, body, root)
                ceiling = ceiling or r["rps"]
                print(
                    f"| {label} | {method} {path} | {r['rps']:.0f} | {r['p50']} | {r['p99']} | "
                    f"{r['rps'] / ceiling:.2f} | {r['non2xx']} |",
                    flush=True,
                )
    finally:
        stack.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
