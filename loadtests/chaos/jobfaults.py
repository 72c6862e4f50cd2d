"""Faults of the job system: a worker killed (SIGKILL) or stopped (SIGTERM)
while it trains, and one of the two schedulers killed."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter

from chaos.invariants import Result
from chaos.phase import PRE, RECOVERY_TIMEOUT, SETTLE, Phase, now
from siprems import keys


# -- 4. workers ------------------------------------------------------------------------------------
async def _running_training(run, worker: str, timeout: float = 30) -> list[str]:
    """Submit a burst of training jobs; return the ids `worker` is running."""
    users = run.users[:3]
    burst = await asyncio.gather(*(run.traffic.submit_training(u, sku) for u in users for sku in u.products))
    ids = [job.task_id for job in burst if job is not None]
    consumer = run.stack.consumer(worker)
    q = run.stack.queue_client()
    try:
        deadline = now() + timeout
        while now() < deadline:
            running = [i for i in ids if q.hmget(keys.job_record(i), "state", "worker") == ["STARTED", consumer]]
            if running:
                return running
            await asyncio.sleep(0.05)
    finally:
        q.close()
    raise TimeoutError(f"{worker} ran no training job within {timeout}s")


def _finishers(run, ids: list[str]) -> str:
    q = run.stack.queue_client()
    try:
        workers = Counter(q.hget(keys.job_record(i), "worker") for i in ids)
        return ", ".join(sorted(f"{w} x{n}" for w, n in workers.items()))
    finally:
        q.close()


def _states(run, ids: list[str]) -> dict[str, str]:
    q = run.stack.queue_client()
    try:
        return {i: q.hget(keys.job_record(i), "state") for i in ids}
    finally:
        q.close()


async def kill_worker(run) -> Phase:
    phase = Phase("SIGKILL worker mid-training", now())
    await asyncio.sleep(PRE)
    victims = await _running_training(run, "worker")
    phase.t_fault = now()
    await asyncio.to_thread(run.stack.kill, "worker")
    await asyncio.sleep(1.0)
    phase.t_heal = now()
    await asyncio.to_thread(run.stack.start, "worker")

    async def victims_done() -> bool:
        return set(_states(run, victims).values()) <= {"SUCCESS", "FAILURE"}

    phase.recovery = await run.monitor.wait_recovered(phase.t_heal, RECOVERY_TIMEOUT, victims_done)
    states = _states(run, victims)
    phase.checks.append(
        Result(
            "killed jobs completed",
            set(states.values()) == {"SUCCESS"},
            f"{len(victims)} running at the kill: {sorted(states.values())}, finished by {_finishers(run, victims)}",
        )
    )
    await asyncio.sleep(SETTLE)
    phase.t_end = now()
    return phase


async def term_worker(run) -> Phase:
    phase = Phase("SIGTERM worker mid-training", now())
    await asyncio.sleep(PRE)
    victims = await _running_training(run, "worker2")
    proc = run.stack.procs["worker2"]
    phase.t_fault = now()
    run.stack.signal("worker2", signal.SIGTERM)
    code = await asyncio.to_thread(proc.wait, 60)
    phase.notes.append(f"worker2 exited {code} after {now() - phase.t_fault:.1f}s")
    states = _states(run, victims)
    # Graceful: each running job either finished before the exit, or was handed back (PENDING) and
    # finishes on the other worker; nothing may stay STARTED on a worker that is gone.
    counts = Counter(states.values())
    phase.checks.append(
        Result(
            "SIGTERM: running jobs finished or handed back",
            code == 0 and set(states.values()) <= {"SUCCESS", "PENDING"},
            f"exit {code}; of {len(victims)} running at SIGTERM {counts['SUCCESS']} finished "
            f"within the grace period, {counts['PENDING']} handed back"
            + (f", {dict(counts)}" if set(counts) - {"SUCCESS", "PENDING"} else ""),
        )
    )
    phase.t_heal = now()
    await asyncio.to_thread(run.stack.start, "worker2")

    async def victims_done() -> bool:
        return set(_states(run, victims).values()) <= {"SUCCESS", "FAILURE"}

    phase.recovery = await run.monitor.wait_recovered(phase.t_heal, RECOVERY_TIMEOUT, victims_done)
    phase.notes.append(
        f"jobs running at SIGTERM ended {sorted(_states(run, victims).values())}, "
        f"finished by {_finishers(run, victims)}"
    )
    await asyncio.sleep(SETTLE)
    phase.t_end = now()
    return phase


# -- 5. schedulers ------------------------------------------------------------------------------
async def kill_scheduler(run) -> Phase:
    phase = Phase("SIGKILL 1 of 2 schedulers", now())
    await asyncio.sleep(PRE)
    phase.t_fault = now()
    killed_wall = time.time()
    await asyncio.to_thread(run.stack.kill, "scheduler")
    await asyncio.sleep(5.0)  # the survivor fires alone
    phase.t_heal = now()
    await asyncio.to_thread(run.stack.start, "scheduler")
    healed_wall = time.time()

    async def fired_since_heal() -> bool:
        with run.stack.pg() as pg, pg.cursor() as cur:
            cur.execute("SELECT count(*) AS n FROM chaos_ticks WHERE fire_ts > %s", (healed_wall,))
            return cur.fetchone()["n"] > 0

    phase.recovery = await run.monitor.wait_recovered(phase.t_heal, RECOVERY_TIMEOUT, fired_since_heal)
    with run.stack.pg() as pg, pg.cursor() as cur:
        cur.execute(
            "SELECT count(*) AS n FROM chaos_ticks WHERE fire_ts > %s AND fire_ts <= %s",
            (int(killed_wall), int(healed_wall)),
        )
        alone = cur.fetchone()["n"]
    phase.notes.append(f"{alone} occurrences fired by the survivor alone")
    await asyncio.sleep(SETTLE)
    phase.t_end = now()
    return phase
