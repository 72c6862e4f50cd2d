"""Helpers for the job tests: real worker and scheduler PROCESSES started from
the stack's commands (`Procs`), SQL look-ups of the test tables of
`devtools.testing_handlers`, and polling helpers (fixtures: support_jobs_fixtures)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Callable

import redis

from devtools.stack import REPO
from siprems import keys
from siprems.jobs import records

VISIBILITY_MS = 1500
WORKER_ENV = {
    "JOB_PLUGINS": "devtools.testing_handlers",
    "JOB_VISIBILITY_TIMEOUT_MS": VISIBILITY_MS,
    "JOB_CONCURRENCY": 8,
    "JOB_SHUTDOWN_GRACE_SECONDS": 20,
    "LOG_LEVEL": "INFO",
}


class Procs:
    """Worker/scheduler processes of one test; all stopped (SIGKILL) at teardown."""

    def __init__(self, stack):
        self.stack = stack
        self.procs: dict[str, subprocess.Popen] = {}
        self.sync = redis.Redis.from_url(stack.env()["QUEUE_REDIS_URL"], decode_responses=True)

    def start(self, name: str, kind: str = "worker", wait: bool = True, args: tuple = (), **env) -> subprocess.Popen:
        path = self.stack.root / "log" / f"{name}.log"
        logged = path.stat().st_size if path.exists() else 0  # a restart appends to the same log
        with open(self.stack.root / "log" / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(
                [*self.stack.commands()[kind], *args],
                env=self.stack.env(**{**WORKER_ENV, **env}),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=str(REPO),
                start_new_session=True,
            )
        self.procs[name] = proc
        if wait and kind == "worker":
            self.wait_ready(proc)
        elif wait and kind == "scheduler":
            self.wait_logged(name, proc, "scheduler started", logged)
        return proc

    def wait_logged(self, name: str, proc: subprocess.Popen, text: str, offset: int, timeout: float = 30) -> None:
        """Until the process's log past `offset` contains `text`: start-up imports the
        job catalogue (numpy/pandas with forecasting), seconds on a loaded host."""
        path = self.stack.root / "log" / f"{name}.log"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}")
            with open(path, "rb") as log:
                log.seek(offset)
                if text.encode() in log.read():
                    return
            time.sleep(0.05)
        raise TimeoutError(f"{name} did not log {text!r}")

    def consumer(self, name: str) -> str:
        """The worker's consumer name (host:pid), from its heartbeat."""
        pid = self.procs[name].pid
        for member in self.sync.zrange(keys.JOBS_WORKERS, 0, -1):
            if member.endswith(f":{pid}"):
                return member
        raise LookupError(name)

    def wait_ready(self, proc: subprocess.Popen, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited with {proc.returncode}")
            if any(m.endswith(f":{proc.pid}") for m in self.sync.zrange(keys.JOBS_WORKERS, 0, -1)):
                return
            time.sleep(0.05)
        raise TimeoutError("worker did not send a heartbeat")

    def signal(self, name: str, sig: int) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            os.killpg(proc.pid, sig)

    def kill(self, name: str) -> None:
        self.signal(name, signal.SIGKILL)
        self.procs[name].wait(10)

    def alive(self, name: str) -> bool:
        return name in self.procs and self.procs[name].poll() is None

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.kill(name)
        self.procs.clear()
        self.sync.close()


def query(pg, sql: str, params=()) -> list[dict]:
    with pg.cursor() as cur:
        cur.execute(sql, params)
        return [dict(r) for r in cur.fetchall()]


def runs_of(pg, job_id: str) -> list[dict]:
    return query(pg, "SELECT * FROM job_test_runs WHERE job_id = %s ORDER BY run_id", (job_id,))


def effects_of(pg, job_id: str) -> list[dict]:
    return query(pg, "SELECT * FROM job_test_effects WHERE job_id = %s ORDER BY effect_id", (job_id,))


async def wait_job(queue, job_id: str, predicate: Callable[[records.Job], bool], timeout: float = 20) -> records.Job:
    deadline = time.monotonic() + timeout
    job = None
    while time.monotonic() < deadline:
        job = await records.get_job(queue, job_id)
        if job is not None and predicate(job):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not get there in {timeout}s; last: {job}")


def state_is(*states: str) -> Callable[[records.Job], bool]:
    return lambda job: job.state.value in states
