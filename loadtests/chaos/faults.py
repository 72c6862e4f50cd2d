"""The faults, each under steady traffic: a few seconds of baseline, the fault,
the outage (watched), the heal, the time to full recovery, a few seconds of
settled traffic. Blocking process control runs in a thread so the traffic
never stops. Each returns a `Phase`; the runner checks invariants after it.
Worker and scheduler faults are in `jobfaults`, slow dependencies in `slowfaults`."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter

import httpx

from chaos import jobfaults, report, slowfaults
from chaos.invariants import Result
from chaos.phase import PRE, RECOVERY_TIMEOUT, SETTLE, Phase, now, restart_service
from chaos.traffic import call


# -- 1. an API instance -------------------------------------------------------------------
async def kill_api(run) -> Phase:
    # Steady traffic before the kill and after recovery (opts.api_steady): the criterion is a
    # share of requests, so the phase spans the whole episode (~2000 requests at the default load).
    phase = Phase("SIGKILL api1, restart", now())
    await asyncio.sleep(run.opts.api_steady)
    phase.t_fault = now()
    await asyncio.to_thread(run.stack.kill, "api1")
    # Restarted at once, as its supervisor would (systemd Restart=, Kubernetes); HAProxy takes
    # it out of rotation meanwhile. Its restart time runs from the kill to its first /ready 200.
    phase.t_heal = now()
    down = asyncio.create_task(run.monitor.wait_rotation("api1", "DOWN"))
    try:
        await asyncio.to_thread(run.stack.start, "api1")  # returns once its own /health answers
        phase.restart = await run.monitor.wait_ready("api1", phase.t_fault, RECOVERY_TIMEOUT)
    finally:
        if not down.done():
            down.cancel()
        done = await asyncio.gather(down, return_exceptions=True)
    if isinstance(done[0], float):
        phase.notes.append(f"HAProxy marked api1 DOWN {done[0]:.1f}s after the kill")
    else:
        phase.notes.append("api1 was back before HAProxy marked it DOWN")
    if phase.restart is not None:
        phase.notes.append(f"api1 restart: {phase.restart:.1f}s from the kill to its first /ready 200")
        ready_at = phase.t_fault + phase.restart
        phase.recovery = await run.monitor.wait_recovered(ready_at, RECOVERY_TIMEOUT)
    await asyncio.sleep(run.opts.api_steady)
    phase.t_end = now()
    cut = report.cut_at_kill(run, phase)
    phase.notes.append(f"{len(cut)} requests in flight on api1 were cut by the kill: {Counter(s.kind for s in cut)}")
    return phase


# -- 2. pgbouncer and PostgreSQL ------------------------------------------------------------
async def restart_pgbouncer(run) -> Phase:
    phase = Phase("restart pgbouncer", now(), expect_down="database")
    return await restart_service(run, phase, lambda: run.stack.stop("pgbouncer"), lambda: run.stack.start("pgbouncer"))


async def restart_postgres(run) -> Phase:
    phase = Phase("restart PostgreSQL (fast)", now(), expect_down="database")
    # SIGINT = fast shutdown: open transactions are rolled back, clients disconnected.
    return await restart_service(
        run, phase, lambda: run.stack.stop("postgres", signal.SIGINT), run.stack.start_postgres
    )


# -- 3. the two Redis servers ---------------------------------------------------------------
async def restart_cache(run) -> Phase:
    phase = Phase("restart cache Redis", now(), expect_down="redis")
    quiet = run.quiet  # a shop with no traffic of its own: nothing else refreshes its cache

    async def warm():  # its product list is cached now
        await call(quiet.http, run.rec, quiet.name, "read", "GET", "/api/products/")

    async def sell_while_down():  # committed, but the cache invalidation cannot happen now
        await run.traffic.checkout(quiet, {max(quiet.products): 1})

    return await restart_service(
        run,
        phase,
        lambda: run.stack.stop("redis"),
        lambda: run.stack.start("redis"),
        before=warm,
        during=sell_while_down,
    )


async def restart_queue(run) -> Phase:
    phase = Phase("restart queue Redis", now(), expect_down="queue")
    # SIGTERM: Redis fsyncs the AOF before exiting, so a clean restart loses nothing.
    return await restart_service(run, phase, lambda: run.stack.stop("queue"), lambda: run.stack.start("queue"))


async def kill_queue(run) -> Phase:
    phase = Phase("SIGKILL queue Redis, restart", now(), expect_down="queue")

    async def burst():  # jobs accepted (202) in the last moments before the crash
        users = run.users[:3]
        await asyncio.gather(*(run.traffic.submit_training(u, sku) for u in users for sku in list(u.products)[:3]))

    # Redis writes the AOF before it replies (fsync every second), so a killed
    # redis-server normally loses nothing; a machine crash may lose ~1 s.
    return await restart_service(
        run, phase, lambda: run.stack.kill("queue"), lambda: run.stack.start("queue"), before=burst
    )


# -- 6. one client past its rate limit -------------------------------------------------------------
FLOOD_SECONDS = 4.0
FLOOD_MAX_SECONDS = 20.0
FLOOD_CONCURRENCY = 16


async def flood(run) -> Phase:
    phase = Phase("flood 1 client past its limit", now(), extra_users={"flooder"})
    flooder = run.flooder
    await asyncio.sleep(PRE)
    phase.t_fault = now()
    bad_429: list[str] = []
    retry_afters: list[str] = []
    async with httpx.AsyncClient(
        base_url=run.stack.base_url,
        timeout=10,
        headers={"Authorization": f"Bearer {flooder.token}"},
        limits=httpx.Limits(max_connections=FLOOD_CONCURRENCY),
    ) as http:

        async def hammer():
            # FLOOD_SECONDS, longer while no 429 came yet: on a CPU-starved host 16 connections
            # may not reach the limit in 4 s (seen: 70 requests), which says nothing about limiting.
            while now() - phase.t_fault < (FLOOD_SECONDS if retry_afters else FLOOD_MAX_SECONDS):
                resp, s = await call(http, run.rec, "flooder", "flood", "GET", "/api/products/stats")
                if s.status == 429:
                    retry_afters.append(resp.headers.get("retry-after", ""))
                    if s.code != "rate_limited" or not s.json_error_body or not retry_afters[-1].isdigit():
                        bad_429.append(str(resp.headers))

        await asyncio.gather(*(hammer() for _ in range(FLOOD_CONCURRENCY)))
        phase.t_heal = now()

        # The stack itself never degraded: recovery is its health. The flooder honours
        # Retry-After and is let in again once its own request rate has decayed.
        phase.recovery = await run.monitor.wait_recovered(phase.t_heal, RECOVERY_TIMEOUT)
        admitted = None
        while now() - phase.t_heal < 30:
            resp, s = await call(http, run.rec, "flooder", "flood", "GET", "/api/products/stats")
            if s.status == 200:
                admitted = now() - phase.t_heal
                break
            await asyncio.sleep(float(resp.headers.get("retry-after", "1")) if resp is not None else 1.0)
    told = "/".join(sorted(set(retry_afters))) or "-"
    phase.notes.append(
        f"flooder let in again {admitted:.1f}s after the flood stopped (it waited Retry-After: {told} s between tries)"
        if admitted is not None
        else "flooder not let in again within 30s"
    )
    flood_samples = run.rec.between(phase.t_fault, phase.t_heal, {"flooder"})
    limited = sum(1 for s in flood_samples if s.status == 429)
    others = [s for s in run.rec.between(phase.t_fault, phase.t_heal) if s.user not in phase.extra_users]
    others_429 = sum(1 for s in others if s.status == 429)
    others_err = sum(1 for s in others if s.error)
    latency = sorted(s.t1 - s.t0 for s in others) or [0.0]
    phase.checks.append(
        Result(
            "flooder gets 429 JSON + Retry-After",
            limited > 0 and not bad_429,
            f"{len(flood_samples)} flood requests, {limited} limited, {len(bad_429)} malformed",
        )
    )
    phase.checks.append(
        Result(
            "other clients unaffected",
            others_err == 0,
            f"{len(others)} requests of others during the flood: {others_429} got 429, "
            f"{others_err} errors, p95 {latency[int(len(latency) * 0.95)] * 1000:.0f} ms",
        )
    )
    await asyncio.sleep(SETTLE)
    phase.t_end = now()
    return phase


ALL = {
    "api": kill_api,
    "pgbouncer": restart_pgbouncer,
    "postgres": restart_postgres,
    "cache": restart_cache,
    "queue": restart_queue,
    "queue-kill": kill_queue,
    "worker-kill": jobfaults.kill_worker,
    "worker-term": jobfaults.term_worker,
    "scheduler": jobfaults.kill_scheduler,
    "flood": flood,
    "slow-postgres": slowfaults.slow_postgres,
    "slow-redis": slowfaults.slow_redis,
}
