"""`python -m workers` / `siprems-worker`: one worker process. Run as many as
you like, on as many machines as you like; each is a consumer of the same
group. Configuration comes from the environment (see .env.example, JOB_*)."""

from __future__ import annotations

import argparse
import os
import sys

from workers import run_async


def main(argv: list[str] | None = None) -> int:
    from siprems import jobtypes
    from siprems.config import load_settings
    from siprems.jobs.registry import QUEUES, load_plugins
    from siprems.jobs.runtime import run_worker
    from siprems.logs import configure_logging

    parser = argparse.ArgumentParser(prog="siprems-worker", description="Run jobs from the SIPREMS queues.")
    parser.add_argument("--queues", default=",".join(QUEUES), help="comma-separated queues (default: all)")
    parser.add_argument("--concurrency", type=int, help="jobs at once (default: JOB_CONCURRENCY)")
    parser.add_argument("--name", help="consumer name (default: host:pid); keep it stable across restarts")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    settings = load_settings()
    configure_logging()
    if settings.worker_nice > 0:  # before any thread starts: threads inherit it
        os.nice(settings.worker_nice)
    if settings.worker_idle_sched and hasattr(os, "SCHED_IDLE"):
        # nice 10 still takes ~10% of a core from each busy API process (CFS weight 110
        # vs 1024); under SCHED_IDLE a fit runs only on CPU the API leaves idle.
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    jobtypes.install()
    load_plugins(settings.job_plugins)
    queues = [q.strip() for q in args.queues.split(",") if q.strip()]
    run_async(run_worker(settings, queues=queues, concurrency=args.concurrency, name=args.name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
