"""`make chaos` in small: its own stack (fsync off), three shops, two faults
(pgbouncer restart, cache Redis restart) under traffic, and every invariant
checked after each. Keeps the fault machinery exercised by CI and guards two
fixes it found: no 500 when pgbouncer is down (aiopg/uvloop descriptor leak)
and chat history plus fresh cached reads across a cache Redis restart."""

from __future__ import annotations

import sys

from devtools.stack import REPO

sys.path.insert(0, str(REPO / "loadtests"))

from chaos import report, runner


def test_two_faults_under_traffic_keep_every_promise():
    opts = runner.Options(
        faults=["pgbouncer", "cache"], users=3, products=3, history_days=90, baseline=3.0, fast_unsafe_postgres=True
    )
    run = runner.execute(opts, log=lambda message: None)
    print("\n" + report.table(run) + "\n" + report.details(run))

    assert [p.name for p in run.phases] == ["baseline (no fault)", "restart pgbouncer", "restart cache Redis"]
    failed = [f"{p.name}: {c.name}: {c.detail}" for p in run.phases for c in p.checks if not c.ok]
    assert not failed, failed
    for phase in run.phases[1:]:
        assert phase.recovery is not None and phase.recovery < 30, (phase.name, phase.recovery)
        samples = run.rec.between(phase.t_start, phase.t_end)
        errors = {s.status for s in samples if s.error}
        assert errors <= {503}, (phase.name, errors)  # an outage is a clear 503, nothing else
        assert any(s.status == 503 for s in samples) or phase.name.startswith("restart cache"), phase.name
    names = [c.name for c in run.phases[-1].checks]
    assert {
        "checkouts once, stock exact",
        "acknowledged chat turns kept",
        "cached reads fresh",
        "jobs finished or dead-lettered",
        "scheduled occurrences once",
    } <= set(names)
