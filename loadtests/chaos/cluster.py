"""The chaos stack: the ordinary local stack (`devtools.stack.Stack`,
real processes on free loopback ports, fsync on) plus a second worker and two
schedulers, with the few process controls the faults need."""

from __future__ import annotations

import os
import subprocess
import time
from contextlib import contextmanager

import psycopg2
import psycopg2.extras
import redis

from chaos import plugin
from devtools.stack import REPO, Stack
from siprems import keys

LOADTESTS = REPO / "loadtests"
WORKERS = ("worker", "worker2")
SCHEDULERS = ("scheduler", "scheduler2")

# Workers and schedulers of the run. A short visibility timeout (the default is
# 60 s) so an entry of a killed worker is reclaimed within the run's budget.
VISIBILITY_MS = 5000
JOB_ENV = {
    "JOB_PLUGINS": "chaos.plugin",
    "PYTHONPATH": str(LOADTESTS),
    "JOB_VISIBILITY_TIMEOUT_MS": VISIBILITY_MS,
    "JOB_SHUTDOWN_GRACE_SECONDS": 30,  # worker2: 1 s, so a SIGTERM also hands running jobs back
    "JOB_CONCURRENCY": 4,
}
API_ENV = {"CHAT_HISTORY_TURNS": 5000}  # keep every turn of the run (the default keeps the last 50)


class ChaosStack(Stack):
    def commands(self) -> dict[str, list[str]]:
        cmds = super().commands()
        worker = cmds["worker"]
        for name in WORKERS:  # stable consumer names: a restarted worker resumes its own pending entries
            cmds[name] = [*worker, "--name", f"chaos-{name}"]
        scheduler = [*cmds["scheduler"], "--only", plugin.SCHEDULE]
        for name in SCHEDULERS:
            cmds[name] = scheduler
        cmds["redis"] = [*cmds["redis"], "--enable-debug-command", "local"]  # DEBUG SLEEP: the slow-Redis fault
        return cmds

    def start(self, name: str, wait_port: int | None = None, **env: object) -> subprocess.Popen:
        if name.startswith(("worker", "scheduler")):
            env = {**JOB_ENV, **({"JOB_SHUTDOWN_GRACE_SECONDS": 1} if name == "worker2" else {}), **env}
        elif name.startswith("api"):
            env = {**API_ENV, **env}
        proc = super().start(name, wait_port, **env)
        if name in WORKERS:
            self.wait_worker(name)
        return proc

    # -- process control ---------------------------------------------------------
    def signal(self, name: str, sig: int) -> None:
        """Send `sig` to the service's process group, keeping it in `procs`."""
        os.killpg(self.procs[name].pid, sig)

    def alive(self, name: str) -> bool:
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    def consumer(self, name: str) -> str:
        return f"chaos-{name}"

    def wait_worker(self, name: str, timeout: float = 30) -> None:
        """Until the worker's first heartbeat (a killed one with the same name leaves an older one)."""
        client = self.queue_client()
        started_ms = time.time() * 1000 - 500
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if not self.alive(name):
                    raise RuntimeError(f"{name} exited with {self.procs[name].returncode}")
                try:
                    if (client.zscore(keys.JOBS_WORKERS, self.consumer(name)) or 0) > started_ms:
                        return
                except redis.RedisError:
                    pass
                time.sleep(0.1)
        finally:
            client.close()
        raise TimeoutError(f"{name} sent no heartbeat within {timeout}s")

    # -- clients for set-up and the checks -----------------------------------------
    def queue_client(self) -> redis.Redis:
        return redis.Redis(port=self.ports.queue, decode_responses=True, socket_timeout=5)

    @contextmanager
    def pg(self):
        """A direct PostgreSQL connection (dict rows, autocommit), closed after use."""
        conn = psycopg2.connect(self.direct_url, cursor_factory=psycopg2.extras.RealDictCursor)
        conn.autocommit = True
        try:
            yield conn
        finally:
            conn.close()

    def start_everything(self) -> None:
        self.start_all()
        with self.pg() as conn, conn.cursor() as cur:
            cur.execute(plugin.TABLE_SQL)
        for name in (*WORKERS, *SCHEDULERS):
            self.start(name)
