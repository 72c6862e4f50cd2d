"""`make loadtest`: run locust headless against the local stack (`make run`),
write CSV + HTML to loadtests/results/, print a summary table (markdown, ready
for the README) with the CPU split between locust and the stack, and exit
non-zero when the locustfile's gate fails (errors > 0.5% excluding designed
429s, or p95 over budget).

Environment: USERS (500), SPAWN (50), DURATION (3m), HOST (http://127.0.0.1:5000),
BACKLOG_WAIT (900: seconds to follow the training backlog after the load),
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
sys.path.insert(0, str(HERE.parent))

from loadtests import backlog
from loadtests.proc_cpu import cpu_by_component, delta

COMPONENTS = ("api", "postgresql", "pgbouncer", "redis", "haproxy", "workers", "load generator")
STACK = COMPONENTS[:-1]


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
    mark, drained_mark = RESULTS / "steady.mark", RESULTS / "drained.mark"
    mark.unlink(missing_ok=True)
    drained_mark.unlink(missing_ok=True)
    sessions = stack_sessions()
    started, first = time.monotonic(), cpu_by_component(sessions)
    env = {**os.environ, "STEADY_MARK": str(mark), "DRAINED_MARK": str(drained_mark)}
    proc = subprocess.Popen(cmd, env=env)
    last = first
    steady = None  # (time, CPU reading) when the steady state began
    drained = None  # the same when the onboarding's training backlog had drained (BACKLOG_RESET=1)
    queue = Backlog(os.environ.get("QUEUE_REDIS_URL", "redis://127.0.0.1:6381/0"))
    while proc.poll() is None:  # sample while locust lives (its CPU is lost once it exits)
        last = cpu_by_component(sessions)
        queue.sample(time.monotonic() - started)
        if steady is None and mark.exists():
            steady = (time.monotonic(), last)
        if drained is None and drained_mark.exists():
            drained = (time.monotonic(), last)
        time.sleep(1)
    end = time.monotonic()
    wall = end - started
    print_summary(prefix, users, wall)
    cpu_table("CPU over the whole run", wall, delta(first, last), None)
    served = _served_requests(prefix)
    if drained is not None:  # the final statistics cover the time after the drain
        if steady is not None:
            before = int(drained_mark.read_text().split()[1])  # requests served until the drain
            cpu_table(
                "While the onboarding's backlog trained", drained[0] - steady[0], delta(steady[1], drained[1]), before
            )
        cpu_table("After the training backlog drained", end - drained[0], delta(drained[1], last), served)
    elif steady is not None:
        cpu_table("Steady state only", end - steady[0], delta(steady[1], last), served)
    queue.drain(started, wall, float(os.environ.get("BACKLOG_WAIT", "900")))
    return proc.returncode


def stack_sessions() -> set[int] | None:
    """The sessions of the local stack (`make run`'s honcho in this checkout) and of this
    load test: CPU is counted for their processes only, not for other work on the
    machine (a test suite's own PostgreSQL and API processes look the same)."""
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if "honcho" in cmdline and "Procfile" in cmdline and Path(os.readlink(proc / "cwd")) == HERE.parent:
                return {os.getsid(int(proc.name)), os.getsid(0)}
        except (OSError, ValueError):
            continue
    return None  # a stack started otherwise: count every process of the machine


class Backlog(backlog.Backlog):
    """The training backlog, sampled during the run, then followed until the workers have drained it."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.peak = (0, 0.0)

    def sample(self, at: float) -> None:
        n = self.size()
        if n > self.peak[0]:
            self.peak = (n, at)

    def drain(self, started: float, wall: float, limit: float = 900.0) -> None:
        left = self.size()
        while left and time.monotonic() - started < wall + limit:
            time.sleep(2)
            left = self.size()
        done = time.monotonic() - started
        print(
            f"\nTraining backlog: peak {self.peak[0]} jobs at {self.peak[1]:.0f} s; "
            + (
                f"drained {done:.0f} s after the start ({done - wall:.0f} s after the load stopped)"
                if not left
                else f"{left} jobs still queued {limit:.0f} s after the load stopped"
            )
        )


def _stats_rows(prefix: Path) -> list[dict]:
    with open(f"{prefix}_stats.csv") as f:
        return list(csv.DictReader(f))


def _served_requests(prefix: Path) -> int:
    return sum(int(r["Request Count"]) for r in _stats_rows(prefix) if r["Name"] == "Aggregated")


def cpu_table(label: str, wall: float, used: dict[str, float], requests: int | None) -> None:
    """CPU per component: seconds, share of the machine, and ms per request served."""
    cores = os.cpu_count() or 1
    print(f"\n{label} ({wall:.0f} s, {cores} cores):\n")
    print("| component | CPU s | share of machine | CPU ms / request |")
    print("|---|---:|---:|---:|")
    for name in (*COMPONENTS, "stack (all but the load generator)"):
        seconds = sum(used.get(c, 0.0) for c in STACK) if name.startswith("stack") else used.get(name, 0.0)
        per = f"{seconds * 1000 / requests:.2f}" if requests else "-"
        print(f"| {name} | {seconds:.0f} | {seconds / wall / cores:.0%} | {per} |")


def print_summary(prefix: Path, users: str, wall: float) -> None:
    rows = _stats_rows(prefix)
    print(f"\n### {users} users, {wall:.0f} s wall\n")
    print("| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | failures |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        label = f"{r['Type']} {r['Name']}".strip() if r["Name"] != "Aggregated" else "**all**"
        print(
            f"| {label} | {r['Request Count']} | {float(r['Requests/s']):.1f} | {r['50%']} | {r['95%']} | "
            f"{r['99%']} | {r['Failure Count']} |"
        )
        if r["Name"] == "Aggregated":
            think = (float(os.environ.get("THINK_MIN", "0.5")) + float(os.environ.get("THINK_MAX", "2"))) / 2
            offered = int(users) / think  # what the users would send if every answer were instant
            print(
                f"\n(offered ≈ {offered:.0f} req/s at {think:.2f} s mean think time: "
                f"served {float(r['Requests/s']) / offered:.0%})"
            )
    print()


if __name__ == "__main__":
    raise SystemExit(main())
