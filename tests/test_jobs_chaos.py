"""500 jobs, 2 worker processes killed (SIGKILL) and restarted at random while
they run: every job ends SUCCESS, none is lost, each effect happens once."""

from __future__ import annotations

import asyncio
import random
import time

from siprems.jobs import producer, records
from siprems.jobs.producer import JobSpec
from support_jobs import query

pytest_plugins = ["support_jobs_fixtures"]  # fixtures: procs, queue, pg, job_test_tables

JOBS = 500


async def test_500_jobs_survive_random_worker_kills(procs, queue, pg):
    rng = random.Random(4)
    specs = [JobSpec("record_effect", {"sleep_ms": rng.randint(50, 250)}) for _ in range(JOBS)]
    ids = [e.job_id for e in await producer.enqueue_many(queue, specs)]
    for name in ("a", "b"):
        procs.start(name, wait=False)

    kills = 0
    chaos_until = time.monotonic() + 6
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        jobs = await records.get_jobs(queue, ids)
        if all(j.state.value == "SUCCESS" for j in jobs):
            break
        if time.monotonic() < chaos_until:
            await asyncio.sleep(rng.uniform(0.4, 1.2))
            victim = rng.choice(["a", "b"])
            procs.kill(victim)
            kills += 1
            procs.start(victim, wait=False)
        else:
            await asyncio.sleep(0.25)

    jobs = await records.get_jobs(queue, ids)
    states = {}
    for job in jobs:
        states[job.state.value] = states.get(job.state.value, 0) + 1
    assert len(jobs) == JOBS and states == {"SUCCESS": JOBS}, states
    effects = query(
        pg, "SELECT job_id, count(*) AS n FROM job_test_effects WHERE job_id = ANY(%s) GROUP BY job_id", (ids,)
    )
    assert len(effects) == JOBS and all(e["n"] == 1 for e in effects)
    runs = query(pg, "SELECT count(*) AS n FROM job_test_runs WHERE job_id = ANY(%s)", (ids,))[0]["n"]
    redelivered = sum(1 for j in jobs if j.attempts > 1)
    print(f"\n{kills} kills; {runs} runs for {JOBS} jobs; {redelivered} jobs ran more than once")
    assert kills >= 5 and runs >= JOBS
