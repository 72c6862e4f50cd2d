"""One chaos run: start a stack in a temp folder, seed it through the API,
drive traffic, inject the faults in turn, check the invariants after each,
and return the phases for the report."""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from chaos import faults, invariants, seed
from chaos.cluster import ChaosStack
from chaos.invariants import Result
from chaos.monitor import Monitor
from chaos.phase import Phase
from chaos.traffic import Ledger, Recorder, ShopUser, Traffic

HANG_SECONDS = 12.0  # longest answer allowed: the app's own bounds are 10 s (pool/statement) and 1-2 s (Redis)
READY_LATENCY = 3.0  # /ready bounds each check at 2 s


@dataclass
class Options:
    faults: list[str] = field(default_factory=lambda: list(faults.ALL))
    users: int = 10
    products: int = 6
    history_days: int = 365
    baseline: float = 8.0
    api_steady: float = 20.0  # s of traffic before the API kill and after its recovery (see faults.kill_api)
    fast_unsafe_postgres: bool = False  # fsync off: the smoke test only
    keep: bool = False


@dataclass
class Run:
    stack: ChaosStack
    users: list[ShopUser]
    flooder: ShopUser
    quiet: ShopUser  # a shop without traffic of its own (see faults.restart_cache)
    traffic: Traffic
    monitor: Monitor
    rec: Recorder
    ledger: Ledger
    sched_since_wall: float
    opts: Options = field(default_factory=Options)
    phases: list[Phase] = field(default_factory=list)
    known: set[tuple[str, str]] = field(default_factory=set)  # (check, problem) already reported


def _outage_checks(run: Run, phase: Phase) -> list[Result]:
    """During the whole phase: errors are clear (JSON, 503 not 500) and quick;
    during the outage /ready names the dependency that is down."""
    samples = run.rec.between(phase.t_start, phase.t_end)
    err500 = [s for s in samples if s.status == 500]
    opaque = [s for s in samples if s.error and not s.json_error_body]
    slow = [s for s in samples if s.t1 - s.t0 > HANG_SECONDS]
    results = [
        Result(
            "errors are JSON, never 500, never hang",
            not (err500 or opaque or slow),
            f"{len(err500)} x 500, {len(opaque)} non-JSON errors, {len(slow)} answers > {HANG_SECONDS:.0f}s",
        )
    ]
    if phase.expect_down:
        probes = run.monitor.probes_between(phase.t_fault + 1.5, phase.t_heal)
        named = [p for p in probes if p.status == 503 and phase.expect_down in p.down and p.json_ok]
        slow_ready = [p for p in probes if p.t1 - p.t0 > READY_LATENCY]
        results.append(
            Result(
                f"/ready says '{phase.expect_down}' is down",
                probes and len(named) == len(probes) and not slow_ready,
                f"{len(named)}/{len(probes)} probes named it, {len(slow_ready)} slower than {READY_LATENCY:.0f}s",
            )
        )
    return results


def _only_new(run: Run, results: list[Result]) -> list[Result]:
    """A problem fails the first checkpoint that finds it; later ones name it as known."""
    out = []
    for r in results:
        if r.problems:
            new = [p for p in r.problems if (r.name, p) not in run.known]
            run.known.update((r.name, p) for p in r.problems)
            if not new:
                r = Result(r.name, True, f"{r.detail} [all {len(r.problems)} problems reported before]")
        out.append(r)
    return out


async def _checkpoint(run: Run, phase: Phase) -> None:
    await run.traffic.quiesce()
    try:
        phase.checks += _outage_checks(run, phase)
        phase.checks += _only_new(
            run, await invariants.check_all(run.stack, [*run.users, run.quiet], run.ledger, run.sched_since_wall)
        )
    finally:
        run.traffic.resume()


async def _drive(stack: ChaosStack, opts: Options, log) -> Run:
    rng = random.Random(11)
    log(f"seeding {opts.users} shops x {opts.products} products, {opts.history_days} days of history")
    *users, quiet = await asyncio.gather(
        *(
            seed.shop_user(stack.base_url, i, products=opts.products, history_days=opts.history_days, rng=rng)
            for i in range(opts.users + 1)
        )
    )
    quiet.name = "quiet"
    quiet.http = httpx.AsyncClient(
        base_url=stack.base_url, timeout=15, headers={"Authorization": f"Bearer {quiet.token}"}
    )
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as anon:
        canary = await seed.register(anon, "chaos-canary")
        flooder = await seed.register(anon, "chaos-flooder")
    trained = await seed.train_all(stack.base_url, users)
    log(f"trained {trained} first models; traffic starts")
    rec, ledger = Recorder(), Ledger()
    traffic = Traffic(stack.base_url, users, rec, ledger)
    monitor = Monitor(stack, canary["access_token"])
    run = Run(
        stack,
        users,
        ShopUser("flooder", flooder["user_id"], flooder["store_id"], flooder["access_token"], "", {}),
        quiet,
        traffic,
        monitor,
        rec,
        ledger,
        sched_since_wall=time.time(),
        opts=opts,
    )
    monitor.start()
    traffic.start()
    try:
        baseline = Phase("baseline (no fault)", time.monotonic())
        await asyncio.sleep(opts.baseline)
        baseline.t_fault = baseline.t_heal = baseline.t_end = time.monotonic()
        baseline.recovery = 0.0
        await _checkpoint(run, baseline)
        run.phases.append(baseline)
        for name in opts.faults:
            log(f"fault: {name}")
            phase = await faults.ALL[name](run)
            await _checkpoint(run, phase)
            run.phases.append(phase)
            failed = [c.name for c in phase.checks if not c.ok]
            log(f"  recovery {phase.recovery}s; checks {'pass' if not failed else 'FAIL: ' + ', '.join(failed)}")
    finally:
        await traffic.stop()
        await monitor.close()
        await quiet.http.aclose()
    return run


def execute(opts: Options, log=print) -> Run:
    root = Path(tempfile.mkdtemp(prefix="siprems-chaos-"))
    stack = ChaosStack(root=root, fast_unsafe_postgres=opts.fast_unsafe_postgres)
    started = time.monotonic()
    try:
        log(f"starting the stack in {root}")
        stack.start_everything()
        log(f"stack up in {time.monotonic() - started:.0f}s")
        return asyncio.run(_drive(stack, opts, log))
    finally:
        stack.stop_all()
        if opts.keep:
            log(f"kept {root} (logs in {root / 'log'})")
        else:
            shutil.rmtree(root, ignore_errors=True)
