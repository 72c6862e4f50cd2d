"""`python -m workers.scheduler` / `siprems-scheduler`: enqueues periodic jobs
(siprems.jobs.schedule). Several may run at once; each occurrence is still
enqueued exactly once. SIGTERM/SIGINT stop it after the current tick."""

from __future__ import annotations

import asyncio
import signal
import sys

from workers import run_async


async def _run(settings, only: list[str]) -> None:
    from siprems.db import create_pool
    from siprems.jobs.registry import SCHEDULES
    from siprems.jobs.runtime import queue_client
    from siprems.jobs.schedule import Scheduler

    redis = queue_client(settings.queue_redis_url, block_ms=0)
    pool = await create_pool(settings.database_url, maxsize=2, timeout=settings.db_timeout)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    try:
        schedules = {name: s for name, s in SCHEDULES.items() if not only or name in only}
        await Scheduler(redis, pool, result_ttl=settings.job_result_ttl_seconds, schedules=schedules).run(stopping)
    finally:
        await redis.aclose()
        pool.close()
        await pool.wait_closed()


def main(argv: list[str] | None = None) -> int:
    import argparse

    from siprems import jobtypes
    from siprems.config import load_settings
    from siprems.jobs.registry import load_plugins
    from siprems.logs import configure_logging

    parser = argparse.ArgumentParser(prog="siprems-scheduler", description="Enqueue the periodic SIPREMS jobs.")
    parser.add_argument("--only", default="", help="comma-separated schedule names to run (default: all)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    settings = load_settings()
    configure_logging()
    jobtypes.install()
    load_plugins(settings.job_plugins)
    run_async(_run(settings, [n.strip() for n in args.only.split(",") if n.strip()]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
