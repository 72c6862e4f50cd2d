"""The table (markdown, for the README's "Reliability" section), the details
behind it, and the verdict."""

from __future__ import annotations

from collections import Counter

MAX_RECOVERY = 15.0  # s after each restart until fully healthy
MAX_API_RESTART = 15.0  # s from the SIGKILL of an API instance to its first /ready 200 (restarted at once)
MAX_API_KILL_ERRORS = 0.001  # share of requests during the API-instance kill, besides those it was serving


def _errors(run, phase) -> tuple[int, Counter]:
    samples = [s for s in run.rec.between(phase.t_start, phase.t_end) if s.user not in phase.extra_users]
    return len(samples), Counter(str(s.status) for s in samples if s.error)


def cut_at_kill(run, phase) -> list:
    """Requests dropped with the killed instance (connection closed without an answer) that
    it was serving, or that reached its socket before the kill had completed: lost by the
    kill itself, as HAProxy never replays a POST."""
    return [
        s
        for s in run.rec.between(phase.t_start, phase.t_heal)  # started before the kill had completed
        if s.status == "conn" and s.t1 >= phase.t_fault and s.user not in phase.extra_users
    ]


def _fmt_errors(errors: Counter) -> str:
    if not errors:
        return "0"
    return f"{sum(errors.values())} (" + ", ".join(f"{k}: {v}" for k, v in sorted(errors.items())) + ")"


def verdict(run) -> list[str]:
    """Reasons the run fails (empty: it passes)."""
    reasons = []
    for phase in run.phases:
        for check in phase.checks:
            if not check.ok:
                reasons.append(f"{phase.name}: {check.name}: {check.detail}")
        if phase.recovery is None or phase.recovery > MAX_RECOVERY:
            reasons.append(f"{phase.name}: recovery {phase.recovery}s (limit {MAX_RECOVERY:.0f}s)")
        if phase.name.startswith("SIGKILL api"):
            if phase.restart is None or phase.restart > MAX_API_RESTART:
                reasons.append(f"{phase.name}: restart {phase.restart}s (limit {MAX_API_RESTART:.0f}s from the kill)")
            total, errors = _errors(run, phase)
            others = sum(errors.values()) - len(cut_at_kill(run, phase))
            share = others / max(1, total)
            if share >= MAX_API_KILL_ERRORS:
                reasons.append(
                    f"{phase.name}: {others} errors in {total} requests ({share:.2%}) besides those cut at the kill"
                )
    return reasons


def table(run) -> str:
    rows = [
        "| Fault | Requests | Client errors (by status) | Outage s | Recovery s | Invariants |",
        "|---|---:|---|---:|---:|---|",
    ]
    for phase in run.phases:
        total, errors = _errors(run, phase)
        failed = [c.name for c in phase.checks if not c.ok]
        if phase.restart is not None:  # a killed instance is out until it is ready again
            outage = f"{phase.restart:.1f}"
        else:
            outage = f"{phase.t_heal - phase.t_fault:.1f}" if phase.t_heal > phase.t_fault else "-"
        recovery = "never" if phase.recovery is None else f"{phase.recovery:.1f}"
        invariants = f"pass ({len(phase.checks)})" if not failed else "FAIL: " + "; ".join(failed)
        rows.append(f"| {phase.name} | {total} | {_fmt_errors(errors)} | {outage} | {recovery} | {invariants} |")
    return "\n".join(rows)


def details(run) -> str:
    lines = []
    for phase in run.phases:
        lines.append(f"{phase.name}:")
        lines += [f"  - {note}" for note in phase.notes]
        lines += [f"  - [{'ok' if c.ok else 'FAIL'}] {c.name}: {c.detail}" for c in phase.checks]
        odd = [
            s
            for s in run.rec.between(phase.t_start, phase.t_end)
            if s.error and isinstance(s.status, str) and s.user not in phase.extra_users
        ]
        lines += [
            f"  - network error at fault{s.t0 - phase.t_fault:+.2f}s ({s.t1 - s.t0:.2f}s): {s.kind} {s.detail}"
            for s in odd[:5]
        ]
    odd = Counter(
        f"{s.kind} {s.status} {s.code or s.detail[:80]}" for s in run.rec.samples if s.error and s.user != "flooder"
    )
    if odd:
        lines.append("client-visible errors by kind: " + "; ".join(f"{k} x{v}" for k, v in odd.most_common(12)))
    total = len([s for s in run.rec.samples if s.user != "flooder"])
    errors = sum(1 for s in run.rec.samples if s.user != "flooder" and s.error)
    lines.append(f"whole run: {total} requests from {len(run.users)} shops, {errors} client-visible errors")
    return "\n".join(lines)
