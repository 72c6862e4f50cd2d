"""Processes that consume jobs (`python -m workers`, `siprems-worker`) and
enqueue periodic ones (`python -m workers.scheduler`, `siprems-scheduler`).
The job runtime itself lives in `siprems.jobs`; these are thin entry points."""

from __future__ import annotations

import asyncio


def run_async(main) -> None:
    """Run a coroutine on uvloop when it is installed."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)
