"""`make chaos`: the fault suite over the whole local stack.

Starts its own stack (PostgreSQL, pgbouncer, cache Redis, queue Redis with
AOF, two API instances, HAProxy, two workers, two schedulers) in a temp
folder, seeds shops through the API, drives steady mixed traffic through
HAProxy and injects, in turn: SIGKILL of an API instance; pgbouncer and
PostgreSQL restarts; cache and queue Redis restarts (and a SIGKILL of the
queue Redis); SIGKILL and SIGTERM of a worker mid-training; SIGKILL of one of
two schedulers; one client flooding past its rate limit; a slow PostgreSQL
(the products table locked for 10 s) and a slow cache Redis (DEBUG SLEEP 10),
where every request must still be answered in time. Prints a table (fault,
requests, client errors, outage, recovery, invariants) and exits 1 if an
invariant fails, a recovery takes more than 15 s, the killed API instance
(restarted at once) takes more than 15 s from the kill to its first /ready
200, or the kill costs 0.1% of requests or more besides the requests in flight
on the killed instance (cut with it: HAProxy never replays a POST).

    .venv/bin/python loadtests/chaos.py [--faults api,postgres,...] [--users N] [--keep]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the `chaos` package next to this file
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # devtools/ (the stack) at the repository root

from chaos import faults, report, runner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--faults", default=",".join(faults.ALL), help=f"comma-separated, of: {', '.join(faults.ALL)}")
    parser.add_argument("--users", type=int, default=10, help="shops driving traffic (default 10)")
    parser.add_argument("--keep", action="store_true", help="keep the stack's folder and logs")
    args = parser.parse_args(argv)
    chosen = [f.strip() for f in args.faults.split(",") if f.strip()]
    unknown = set(chosen) - set(faults.ALL)
    if unknown:
        parser.error(f"unknown faults: {', '.join(sorted(unknown))}")
    started = time.monotonic()
    run = runner.execute(
        runner.Options(faults=chosen, users=args.users, keep=args.keep),
        log=lambda m: print(f"[{time.monotonic() - started:5.0f}s] {m}", flush=True),
    )
    print()
    print(report.table(run))
    print()
    print(report.details(run))
    reasons = report.verdict(run)
    print(f"\nchaos: {'PASS' if not reasons else 'FAIL'} in {time.monotonic() - started:.0f}s")
    for reason in reasons:
        print(f"  - {reason}")
    return 1 if reasons else 0


if __name__ == "__main__":
    raise SystemExit(main())
