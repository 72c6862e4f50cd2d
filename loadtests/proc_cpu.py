"""CPU seconds per stack component, read from /proc (Linux), for the load
test and the benchmarks: which part of the machine a workload costs.

A process belongs to the component of the nearest process in its ancestry
whose command line says what it is, so Sanic's spawned workers (`python -c
"from multiprocessing.spawn ..."`) count for the API instance or the bare
Sanic app that started them.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")

# (marker in the command line, component), first match wins.
MARKERS = (
    ("locust", "load generator"),
    ("wrk ", "load generator"),
    ("bare_sanic", "bare sanic"),
    ("siprems serve", "api"),
    ("-m siprems", "api"),
    ("-m workers.scheduler", "workers"),
    ("-m workers", "workers"),
    ("siprems-worker", "workers"),
    ("pgbouncer", "pgbouncer"),
    ("postgres", "postgresql"),
    ("redis-server", "redis"),
    ("haproxy", "haproxy"),
)


def _processes(sessions: set[int] | None) -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command line, CPU seconds user+system); when
    `sessions` is given, only processes of those sessions and their descendants
    (PostgreSQL backends start sessions of their own under the postmaster)."""
    found: dict[int, tuple[int, int, str, float]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
        found[int(proc.name)] = (int(fields[1]), int(fields[3]), cmdline, cpu)
    if sessions is None:
        return {pid: (ppid, cmd, cpu) for pid, (ppid, _, cmd, cpu) in found.items()}
    member: dict[int, bool] = {}

    def belongs(pid: int, depth: int = 0) -> bool:
        if pid not in member:
            entry = found.get(pid)
            member[pid] = entry is not None and (
                entry[1] in sessions or (depth < 20 and entry[0] > 1 and belongs(entry[0], depth + 1))
            )
        return member[pid]

    return {pid: (ppid, cmd, cpu) for pid, (ppid, _, cmd, cpu) in found.items() if belongs(pid)}


def _component(cmdline: str) -> str | None:
    for marker, name in MARKERS:
        if marker in cmdline:
            return name
    return None


def cpu_by_component(sessions: set[int] | None = None) -> dict[str, float]:
    """CPU seconds used so far by the live processes of each component
    (of the given session ids only, e.g. a harness's session leaders' pids)."""
    procs = _processes(sessions)
    totals: dict[str, float] = defaultdict(float)
    for ppid, cmdline, cpu in procs.values():
        name, seen = _component(cmdline), 0
        while name is None and ppid in procs and seen < 10:
            ppid, parent_cmd, _ = procs[ppid]
            name, seen = _component(parent_cmd), seen + 1
        if name is not None:
            totals[name] += cpu
    return dict(totals)


def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds per component between two readings (processes that died meanwhile are lost)."""
    return {k: max(after.get(k, 0.0) - before.get(k, 0.0), 0.0) for k in set(before) | set(after)}
