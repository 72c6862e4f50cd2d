"""`make soak`: the capacity issue's workload (loadtests/locustfile.py) at a
sustainable rate for a long time, watching every resource for growth.

Starts its own stack in a temp folder (PostgreSQL with fsync on, pgbouncer, both
Redis, two API instances, HAProxy, a job worker and a scheduler), runs locust
headless against it and samples every 10 s: RSS, largest process and open file
descriptors of every service, PostgreSQL and pgbouncer connections, Redis memory
and keys, job queue lengths, HAProxy request and 5xx counters. Writes
`soak.csv`, `soak.png` and `summary.md` to the output folder and exits 1 when
any series keeps growing after warm-up (`soak/slopes.py`) or on any 5xx.

    .venv/bin/python loadtests/soak.py [--minutes 60] [--users 120] [--spawn-rate 2] [--out DIR]
    SOAK_MINUTES=2 make soak     # the short CI form
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # devtools/ (the stack) at the repository root

from devtools.stack import Stack
from soak import chart, slopes
from soak.sampler import Sampler

SERVICES = ("postgres", "pgbouncer", "redis", "queue", "api1", "api2", "haproxy", "worker", "scheduler")
INTERVAL = 10.0
MAX_OTHER_FAILURES = 0.01  # share of requests failing other than 5xx (429s are not failures)


def _args(argv):
    p = argparse.ArgumentParser(prog="make soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", "60")))
    p.add_argument("--users", type=int, default=int(os.environ.get("SOAK_USERS", "120")))
    p.add_argument("--spawn-rate", type=float, default=float(os.environ.get("SOAK_SPAWN", "2")))
    p.add_argument(
        "--warmup-minutes",
        type=float,
        default=None,
        help="after all shops are onboarded (default: 10, at most 25%% of the run)",
    )
    p.add_argument("--out", type=Path, default=None, help="default loadtests/results/soak-<UTC time>")
    p.add_argument("--keep", action="store_true", help="keep the stack's folder and logs")
    return p.parse_args(argv)


def _start_stack(root: Path, minutes: float) -> Stack:
    os.environ.setdefault("HAPROXY_TRUSTED_PROXY", "127.0.0.1")  # each virtual user is its own client address
    # The locustfile logs in once and never refreshes: with the default 30-minute access
    # tokens the second half of an hour's run was all 401 token_expired. Tokens outlive the run.
    os.environ.setdefault("JWT_ACCESS_MINUTES", str(int(minutes) + 30))
    stack = Stack(root=root)
    stack.start_all()
    for name in ("worker", "scheduler"):
        stack.start(name)
    return stack


def _locust(stack: Stack, args, out: Path, mark: Path) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless",
        "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{int(args.minutes * 60)}s",
        "--host", stack.base_url, "--csv", str(out / "locust"), "--only-summary", "--stop-timeout", "10s",
    ]  # fmt: skip
    env = {
        **os.environ,
        "STEADY_MARK": str(mark),
        "P95_BUDGET_MS": "1000000",  # the soak judges growth and 5xx, not latency
        "MAX_ERROR_RATIO": "1",
    }
    with open(out / "locust.log", "wb") as log:  # the child has its own copy of the fd
        return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=str(HERE.parent))


def _locust_failures(out: Path) -> dict[str, int]:
    """Failures by kind from locust's CSV: '5xx', 'connection' (status 0) and 'other'."""
    found = {"5xx": 0, "connection": 0, "other": 0}
    path = out / "locust_failures.csv"
    if not path.exists():
        return found
    with open(path) as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        error, n = r["Error"], int(r["Occurrences"])
        if "HTTP 5" in error:
            found["5xx"] += n
        elif "HTTP " in error:
            found["other"] += n
        else:
            found["connection"] += n
    return found


def _requests(out: Path) -> tuple[int, float]:
    path = out / "locust_stats.csv"
    if not path.exists():
        return 0, 0.0
    with open(path) as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        if r["Name"] == "Aggregated":
            return int(r["Request Count"]), float(r["Requests/s"])
    return 0, 0.0


def main(argv=None) -> int:
    args = _args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%MZ")
    out = args.out or HERE / "results" / f"soak-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="siprems-soak-"))
    mark = out / "steady.mark"
    mark.unlink(missing_ok=True)
    print(f"soak: {args.users} users for {args.minutes:g} min; stack in {root}; results in {out}", flush=True)
    stack = _start_stack(root, args.minutes)
    rows: list[dict[str, float]] = []
    steady_at = None
    try:
        sampler = Sampler(stack, list(SERVICES))
        started = time.time()
        proc = _locust(stack, args, out, mark)
        with open(out / "soak.csv", "w", newline="") as f:
            writer = None
            while proc.poll() is None:
                row = {"elapsed_s": round(time.time() - started, 1), **sampler.sample()}
                if writer is None:
                    writer = csv.DictWriter(f, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(row)
                f.flush()
                rows.append(row)
                if steady_at is None and mark.exists():
                    steady_at = float(mark.read_text()) - started
                    print(f"soak: every shop onboarded after {steady_at:.0f} s", flush=True)
                if len(rows) % 30 == 0:
                    print(f"soak: {row['elapsed_s'] / 60:.0f} min, {row['haproxy_requests_total']} requests, "
                          f"{row['haproxy_5xx_total']} 5xx", flush=True)  # fmt: skip
                time.sleep(max(0.0, INTERVAL - (time.time() - started - row["elapsed_s"])))
        sampler.close()
    finally:
        stack.stop_all()
        if args.keep:
            print(f"soak: stack folder kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return report(args, out, rows, steady_at)


def report(args, out: Path, rows: list[dict[str, float]], steady_at: float | None) -> int:
    duration = args.minutes * 60
    if steady_at is None:  # the locustfile did not mark its steady state: assume the spawn's end
        steady_at = args.users / args.spawn_rate + 30
    warmup = args.warmup_minutes * 60 if args.warmup_minutes is not None else min(600.0, 0.25 * duration)
    warmup_until = steady_at + warmup
    try:
        trends = slopes.judge(rows, warmup_until)
    except ValueError as exc:
        print(f"soak: cannot judge: {exc}")
        return 2
    growing = [t.column for t in trends if t.growing]
    five_xx = int(rows[-1]["haproxy_5xx_total"] - rows[0]["haproxy_5xx_total"])
    failures = _locust_failures(out)
    requests, rate = _requests(out)
    window = [r for r in rows if r["elapsed_s"] >= warmup_until]
    steady_rate = (window[-1]["haproxy_requests_total"] - window[0]["haproxy_requests_total"]) / max(
        window[-1]["elapsed_s"] - window[0]["elapsed_s"], 1
    )
    # A soak whose own workload fails (e.g. expired tokens: all 401) measures something else.
    broken = failures["other"] + failures["connection"] > MAX_OTHER_FAILURES * max(requests, 1)
    ok = not growing and five_xx == 0 and failures["5xx"] == 0 and not broken
    title = f"soak {args.users} users, {args.minutes:g} min: {'PASS' if ok else 'FAIL'}"
    chart.draw(rows, warmup_until, out / "soak.png", title)
    summary = "\n".join(
        [
            f"### {title}",
            "",
            (
                f"- samples: {len(rows)} every {INTERVAL:.0f} s; shops onboarded after {steady_at:.0f} s; "
                f"judged after {warmup_until:.0f} s ({len(window)} samples)"
            ),
            (
                f"- requests (locust, steady state): {requests:,} at {rate:.1f} req/s; HAProxy after warm-up: "
                f"{steady_rate:.1f} req/s"
            ),
            (
                f"- 5xx: {five_xx} (HAProxy frontend, whole run), {failures['5xx']} (locust); "
                f"connection errors {failures['connection']}, other failed requests {failures['other']}"
            ),
            f"- growing after warm-up: {', '.join(growing) or 'none'}"
            + ("; **the workload itself failed** (other failures over 1%)" if broken else ""),
            "",
            slopes.markdown(trends),
            "",
        ]
    )
    (out / "summary.md").write_text(summary)
    print("\n" + summary)
    print(f"soak: {'PASS' if ok else 'FAIL'}; {out / 'soak.csv'}, {out / 'soak.png'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
