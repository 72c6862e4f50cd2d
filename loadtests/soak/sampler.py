"""One sample of every resource the soak watches, read from /proc, PostgreSQL,
pgbouncer's admin console, both Redis servers and HAProxy's stats CSV.

A sample is a flat dict `{column: number}`; the columns of one run are fixed
by the services it started, so every sample fits one CSV row.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import time
import urllib.request
from pathlib import Path

import psycopg2
import psycopg2.extras
import redis

from devtools.stack import DB_NAME, DB_USER, Stack
from siprems import keys
from siprems.jobs.registry import QUEUES


def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids of every live process."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def _tree(root: int, children: dict[int, list[int]]) -> list[int]:
    """`root` and all its descendants (PostgreSQL backends call setsid(): a process group misses them)."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def _memory_and_fds(pid: int) -> tuple[int, int, int]:
    """(VmRSS, RssAnon, open fds) of one process; zeros when it is gone.

    RssAnon is the process's private memory (what a leak grows); VmRSS also counts
    shared memory it touched, such as PostgreSQL's shared_buffers (bounded by its setting)."""
    rss = anon = 0
    try:
        for line in (Path("/proc") / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("RssAnon:"):
                anon = int(line.split()[1]) * 1024
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0, 0, 0
    return rss, anon, fds


class Sampler:
    def __init__(self, stack: Stack, services: list[str]):
        self.stack = stack
        self.services = services
        self.pg = psycopg2.connect(stack.direct_url, cursor_factory=psycopg2.extras.RealDictCursor)
        self.pg.autocommit = True
        self.bouncer = psycopg2.connect(
            host="127.0.0.1",
            port=stack.ports.pgbouncer,
            dbname="pgbouncer",
            user=DB_USER,
            password=stack.password,
            cursor_factory=psycopg2.extras.RealDictCursor,
        )
        self.bouncer.autocommit = True
        self.cache = redis.Redis(port=stack.ports.redis, decode_responses=True, socket_timeout=5)
        self.queue = redis.Redis(port=stack.ports.queue, decode_responses=True, socket_timeout=5)

    def close(self) -> None:
        for conn in (self.pg, self.bouncer):
            conn.close()
        self.cache.close()
        self.queue.close()

    def sample(self) -> dict[str, float]:
        row: dict[str, float] = {"t": round(time.time(), 1)}
        row.update(self._processes())
        row.update(self._postgres())
        row.update(self._pgbouncer())
        for name, client in (("cache", self.cache), ("queue", self.queue)):
            info = client.info("memory")
            row[f"redis_{name}_used_mb"] = round(info["used_memory"] / 2**20, 2)
            row[f"redis_{name}_keys"] = client.dbsize()
        row.update(self._queues())
        row.update(self._haproxy())
        return row

    def _processes(self) -> dict[str, float]:
        children = _children()
        row: dict[str, float] = {}
        for name in self.services:
            proc = self.stack.procs.get(name)
            pids = _tree(proc.pid, children) if proc is not None and proc.poll() is None else []
            rss = anon = fds = biggest = 0
            for pid in pids:
                r, a, f = _memory_and_fds(pid)
                rss, anon, fds, biggest = rss + r, anon + a, fds + f, max(biggest, a)
            row[f"{name}_rss_mb"] = round(rss / 2**20, 1)
            row[f"{name}_anon_mb"] = round(anon / 2**20, 1)
            row[f"{name}_max_proc_anon_mb"] = round(biggest / 2**20, 1)  # a leak in one worker, not diluted
            row[f"{name}_fds"] = fds
            row[f"{name}_procs"] = len(pids)
        return row

    def _postgres(self) -> dict[str, float]:
        with self.pg.cursor() as cur:
            cur.execute(
                """SELECT count(*) FILTER (WHERE backend_type = 'client backend') AS clients,
                          count(*) FILTER (WHERE state = 'active' AND backend_type = 'client backend') AS active
                     FROM pg_stat_activity WHERE datname = %s OR datname IS NULL""",
                (DB_NAME,),
            )
            r = cur.fetchone()
        return {"pg_connections": r["clients"] - 1, "pg_active": r["active"] - 1}  # minus this sampler

    def _pgbouncer(self) -> dict[str, float]:
        with self.bouncer.cursor() as cur:
            cur.execute("SHOW POOLS")
            pools = [p for p in cur.fetchall() if p["database"] == DB_NAME]
        total = {k: sum(int(p.get(k) or 0) for p in pools) for k in ("cl_active", "cl_waiting", "sv_active", "sv_idle")}
        return {
            "pgbouncer_clients": total["cl_active"] + total["cl_waiting"],
            "pgbouncer_waiting": total["cl_waiting"],
            "pgbouncer_servers": total["sv_active"] + total["sv_idle"],
        }

    def _queues(self) -> dict[str, float]:
        row: dict[str, float] = {"jobs_delayed": self.queue.zcard(keys.JOBS_DELAYED)}
        waiting = pending = dead = 0
        for queue in QUEUES:
            waiting += self.queue.xlen(keys.job_stream(queue))
            dead += self.queue.xlen(keys.job_dead_letters(queue))
            with contextlib.suppress(redis.ResponseError):  # no group yet
                pending += self.queue.xpending(keys.job_stream(queue), keys.JOBS_GROUP)["pending"]
        row.update(jobs_in_streams=waiting, jobs_pending=pending, jobs_dead_letters=dead)
        return row

    def _haproxy(self) -> dict[str, float]:
        """The public frontend's cumulative counters (requests, 5xx)."""
        url = f"http://127.0.0.1:{self.stack.ports.stats}/stats;csv"
        with urllib.request.urlopen(url, timeout=5) as r:
            text = r.read().decode().lstrip("# ")
        for rec in csv.DictReader(io.StringIO(text)):
            if rec["svname"] == "FRONTEND" and rec["pxname"] not in ("fe_stats", "stats"):
                return {
                    "haproxy_requests_total": int(rec["req_tot"] or 0),
                    "haproxy_5xx_total": int(rec["hrsp_5xx"] or 0),
                    "haproxy_4xx_total": int(rec["hrsp_4xx"] or 0),
                    "haproxy_sessions": int(rec["scur"] or 0),
                }
        return {}
