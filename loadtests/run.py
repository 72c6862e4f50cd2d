"""`make loadtest`: run locust headless against the local stack (`make run`),
write CSV + HTML to loadtests/results/, print a summary table (markdown, ready
for the README) with the CPU split between locust and the stack, and exit
non-zero when the locustfile's gate fails (errors > 0.5% excluding designed
429s, or p95 over budget).

Environment: USERS (500), SPAWN (50), DURATION (3m), HOST (http://127.0.0.1:5000),
P95_BUDGET_MS (100), LOCUST_PROCESSES (1), RESET_STATS (1: print the sign-up phase
separately, then measure the steady state once every shop is onboarded; 0: one table).
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
# Sanic's workers are spawned (`python -c "from multiprocessing.spawn ..."`).
STACK_MARKERS = (
    "postgres",
    "pgbouncer",
    "redis-server",
    "haproxy",
    "siprems",
    "workers",
    "sanic",
    "multiprocessing.spawn",
)
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(match) -> float:
    """CPU seconds (user+system) of live processes whose command line matches."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if match(cmdline):
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def _is_locust(cmd: str) -> bool:
    return "locust" in cmd


def _is_stack(cmd: str) -> bool:
    return not _is_locust(cmd) and any(m in cmd for m in STACK_MARKERS)


def main() -> int:
    users = os.environ.get("USERS", "500")
    spawn = os.environ.get("SPAWN", "50")
    duration = os.environ.get("DURATION", "3m")
    host = os.environ.get("HOST", "http://127.0.0.1:5000")
    try:
        urllib.request.urlopen(host + "/health", timeout=3).read()
    except OSError:
        print(f"The stack is not answering on {host}: start it with `make run` first.", file=sys.stderr)
        return 2
    RESULTS.mkdir(exist_ok=True)
    prefix = RESULTS / "run"
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(HERE / "locustfile.py"),
        "--headless",
        "-u",
        users,
        "-r",
        spawn,
        "-t",
        duration,
        "--host",
        host,
        "--csv",
        str(prefix),
        "--html",
        str(RESULTS / "report.html"),
        "--stop-timeout",
        "10s",
        "--only-summary",
    ]
    # RESET_STATS=1 (default): the locustfile prints the sign-up phase, then
    # restarts the statistics once every shop is onboarded (steady state).
    processes = os.environ.get("LOCUST_PROCESSES")
    if processes and processes != "1":
        cmd += ["--processes", processes]
    mark = RESULTS / "steady.mark"
    mark.unlink(missing_ok=True)
    stack_before, started = _cpu_seconds(_is_stack), time.monotonic()
    proc = subprocess.Popen(cmd, env={**os.environ, "STEADY_MARK": str(mark)})
    locust_cpu = 0.0
    steady = None  # (time, stack CPU, locust CPU) when the steady state began
    while proc.poll() is None:  # sample locust's CPU while it lives
        locust_cpu = max(locust_cpu, _cpu_seconds(_is_locust))
        if steady is None and mark.exists():
            steady = (time.monotonic(), _cpu_seconds(_is_stack), locust_cpu)
        time.sleep(1)
    wall = time.monotonic() - started
    stack_now = _cpu_seconds(_is_stack)
    print_summary(prefix, users, wall, locust_cpu, stack_now - stack_before)
    if steady is not None:
        seconds = time.monotonic() - steady[0]
        cpu_line("Steady state only", seconds, locust_cpu - steady[2], stack_now - steady[1])
    return proc.returncode


def cpu_line(label: str, wall: float, locust_cpu: float, stack_cpu: float) -> None:
    cores = os.cpu_count() or 1
    print(
        f"{label} ({wall:.0f} s): stack {stack_cpu:.0f} s CPU ({stack_cpu / wall / cores:.0%} of {cores} cores), "
        f"locust {locust_cpu:.0f} s ({locust_cpu / wall / cores:.0%})"
    )


def print_summary(prefix: Path, users: str, wall: float, locust_cpu: float, stack_cpu: float) -> None:
    rows = list(csv.DictReader(open(f"{prefix}_stats.csv")))
    print(f"\n### {users} users, {wall:.0f} s wall\n")
    print("| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | failures |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        name = r["Name"] if r["Type"] != "" else r["Name"]
        label = f"{r['Type']} {name}".strip() if name != "Aggregated" else "**all**"
        print(
            f"| {label} | {r['Request Count']} | {float(r['Requests/s']):.1f} | {r['50%']} | {r['95%']} | "
            f"{r['99%']} | {r['Failure Count']} |"
        )
    print()
    cpu_line("CPU over the whole run", wall, locust_cpu, stack_cpu)


if __name__ == "__main__":
    raise SystemExit(main())
