"""What every fault shares: its timeline (`Phase`) and the generic "stop a
service, keep it down, start it, wait for full recovery" sequence."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from chaos.invariants import Result

PRE = 3.0  # s of baseline traffic in each phase before the fault
OUTAGE = 4.0  # s a stopped dependency stays down
SETTLE = 3.0  # s of traffic after recovery, still counted in the phase
RECOVERY_TIMEOUT = 60.0


@dataclass
class Phase:
    name: str
    t_start: float
    t_fault: float = 0.0
    t_heal: float = 0.0
    t_end: float = 0.0
    recovery: float | None = None  # s from the restart (or the heal) until the whole stack is healthy
    restart: float | None = None  # a killed API instance: s from the kill to its first /ready 200
    expect_down: str | None = None  # the dependency /ready must name during the outage
    checks: list[Result] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra_users: set[str] = field(default_factory=set)  # e.g. the flooder: not part of "requests"


def now() -> float:
    return time.monotonic()


async def restart_service(run, phase: Phase, stop, start, *, extra=None, before=None, during=None) -> Phase:
    """Baseline, `before()`, stop, `during()`, down for OUTAGE s, start, wait for full
    recovery (and the async predicate `extra()`), settle."""
    await asyncio.sleep(PRE)
    if before is not None:
        await before()
    phase.t_fault = now()
    await asyncio.to_thread(stop)
    if during is not None:
        await during()
    await asyncio.sleep(max(0.0, phase.t_fault + OUTAGE - now()))
    phase.t_heal = now()
    await asyncio.to_thread(start)
    phase.recovery = await run.monitor.wait_recovered(phase.t_heal, RECOVERY_TIMEOUT, extra)
    await asyncio.sleep(SETTLE)
    phase.t_end = now()
    return phase
