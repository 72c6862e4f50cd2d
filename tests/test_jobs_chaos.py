"""500 jobs, 2 worker processes killed (SIGKILL) and restarted at random while
they run: every job ends SUCCESS, none is lost, jobs were really redelivered, and
an effect is applied twice only when its worker was killed before it could
acknowledge the job (the test handler's effect is not idempotent: the count is
the queue's doing)."""

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
    specs = [JobSpec("record_effect", {"sleep_ms": rng.randint(100, 400)}) for _ in range(JOBS)]
    ids = [e.job_id for e in await producer.enqueue_many(queue, specs)]
    for name in ("a", "b"):
        procs.start(name, wait=False)

    kills = 0
    killed_pids: set[int] = set()
    chaos_until = time.monotonic() + 30
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        jobs = await records.get_jobs(queue, ids)
        if all(j.state.value == "SUCCESS" for j in jobs):
            break
        # Kill until at least 5 kills have landed and one has cut a job short (a loaded
        # machine can be slow to start the workers: kills of idle workers prove nothing).
        if time.monotonic() < chaos_until and (kills < 5 or not any(j.attempts > 1 for j in jobs)):
            await asyncio.sleep(rng.uniform(0.4, 1.2))
            victim = rng.choice(["a", "b"])
            pid = procs.procs[victim].pid
            running = [j for j in await records.get_jobs(queue, ids) if j.state.value == "STARTED"]
            if not any(j.worker.endswith(f":{pid}") for j in running):
                continue  # still starting up: kill it once it runs jobs
            killed_pids.add(pid)
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
    effects: dict[str, list[dict]] = {}
    for row in query(pg, "SELECT * FROM job_test_effects WHERE job_id = ANY(%s) ORDER BY effect_id", (ids,)):
        effects.setdefault(row["job_id"], []).append(row)
    runs: dict[str, int] = {}
    for row in query(pg, "SELECT job_id, count(*) AS n FROM job_test_runs WHERE job_id = ANY(%s) GROUP BY 1", (ids,)):
        runs[row["job_id"]] = row["n"]
    by_id = {j.id: j for j in jobs}
    redelivered = [i for i in ids if by_id[i].attempts > 1]
    cut_short = [i for i in ids if runs[i] > len(effects.get(i, []))]  # a run killed before its effect
    twice = [i for i in ids if len(effects.get(i, [])) > 1]
    print(
        f"\n{kills} kills; {sum(runs.values())} runs for {JOBS} jobs; {len(redelivered)} redelivered, "
        f"{len(cut_short)} killed mid-run, {len(twice)} killed between effect and acknowledgement"
    )
    assert kills >= 5
    # The kills hit running jobs and the queue redelivered them (else this test proves nothing).
    assert redelivered and cut_short, "no job was redelivered: the kills never hit a running job"
    for i in ids:
        applied = effects.get(i, [])
        assert applied, f"job {i} is SUCCESS but its effect never happened"
        # The result is the last run's; every earlier application was made by a worker that
        # died before acknowledging (a live worker that applied it acknowledged it).
        assert by_id[i].result["worker"] == applied[-1]["worker"], (by_id[i], applied)
        for row in applied[:-1]:
            assert int(row["worker"].rsplit(":", 1)[1]) in killed_pids, (i, applied)
    assert len(twice) <= kills * 8  # at most JOB_CONCURRENCY jobs in that window per kill
