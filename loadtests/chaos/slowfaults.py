"""Slow dependencies (nothing stops; something answers late): PostgreSQL with a hot
table locked for 10 s, and the cache Redis frozen by `DEBUG SLEEP`. Every request
must still end within the runner's HANG_SECONDS with a clear answer (success or
JSON error, no network error), and the stack recovers without anyone restarting it."""

from __future__ import annotations

import asyncio
import time

import psycopg2
import redis

from chaos.invariants import Result
from chaos.phase import PRE, RECOVERY_TIMEOUT, SETTLE, Phase, now

LOCK_SECONDS = 10.0
SLEEP_SECONDS = 10.0
HOT_TABLE = "products"  # every checkout updates it, every product read and prediction reads it


def _hold_lock(stack, seconds: float) -> float:
    """ACCESS EXCLUSIVE on the hot table (blocks reads and writes) for `seconds`; returns the
    seconds the lock itself took to get (it waits for transactions already on the table)."""
    conn = psycopg2.connect(stack.direct_url)
    try:
        with conn.cursor() as cur:
            t0 = time.monotonic()
            cur.execute(f"LOCK TABLE {HOT_TABLE} IN ACCESS EXCLUSIVE MODE")
            waited = time.monotonic() - t0
            time.sleep(seconds)
        conn.rollback()
        return waited
    finally:
        conn.close()


def _freeze_cache_redis(stack, seconds: float) -> None:
    client = redis.Redis(port=stack.ports.redis, socket_timeout=seconds + 5)
    try:
        client.execute_command("DEBUG", "SLEEP", seconds)
    finally:
        client.close()


def _answered(run, phase: Phase) -> Result:
    """No request of the phase ended in a client timeout or a broken connection."""
    samples = [s for s in run.rec.between(phase.t_start, phase.t_end) if s.user not in phase.extra_users]
    network = [s for s in samples if isinstance(s.status, str)]
    during = [s for s in samples if phase.t_fault <= s.t0 <= phase.t_heal]
    slowest = max((s.t1 - s.t0 for s in during), default=0.0)
    errors = sorted({f"{s.status} {s.code}" for s in during if s.error})
    return Result(
        "every request answered (no timeout, no dropped connection)",
        not network,
        f"{len(during)} requests during the fault, slowest {slowest:.1f}s, error answers: {', '.join(errors) or 'none'}"
        + (
            f"; {len(network)} network errors: {network[0].kind} {network[0].status} {network[0].detail[:80]}"
            if network
            else ""
        ),
    )


async def _slow(run, name: str, block, note) -> Phase:
    phase = Phase(name, now())
    await asyncio.sleep(PRE)
    phase.t_fault = now()
    result = await asyncio.to_thread(block)
    phase.t_heal = now()
    if note:
        phase.notes.append(note(result))
    phase.recovery = await run.monitor.wait_recovered(phase.t_heal, RECOVERY_TIMEOUT)
    await asyncio.sleep(SETTLE)
    phase.t_end = now()
    phase.checks.append(_answered(run, phase))
    return phase


async def slow_postgres(run) -> Phase:
    return await _slow(
        run,
        f"slow PostgreSQL ({HOT_TABLE} locked {LOCK_SECONDS:.0f}s)",
        lambda: _hold_lock(run.stack, LOCK_SECONDS),
        lambda waited: f"lock granted after {waited:.2f}s, held {LOCK_SECONDS:.0f}s",
    )


async def slow_redis(run) -> Phase:
    return await _slow(
        run,
        f"slow cache Redis (DEBUG SLEEP {SLEEP_SECONDS:.0f})",
        lambda: _freeze_cache_redis(run.stack, SLEEP_SECONDS),
        None,
    )
