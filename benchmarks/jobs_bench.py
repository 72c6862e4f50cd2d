"""Job queue benchmark (not a test): no-op jobs per second with 1 and 2 worker
processes, and enqueue-to-start latency when the worker is idle.

    .venv/bin/python benchmarks/jobs_bench.py [--jobs 20000] [--concurrency 64] [--samples 500]

Starts its own queue Redis (docker/redis-queue.conf: AOF everysec, noeviction)
and real worker processes (`python -m workers`). Throughput is measured on a
backlog: the jobs are enqueued first, then the workers drain them; the rate is
jobs / (last finish - first start), from the records' Redis timestamps.
Latency: one job at a time, 10 ms apart, started_at - enqueued_at.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis.asyncio as aioredis

from devtools.stack import REPO, Stack
from siprems import jobtypes, keys
from siprems.jobs import producer
from siprems.jobs.producer import JobSpec

jobtypes.install()


def start_workers(stack: Stack, n: int, concurrency: int) -> list[subprocess.Popen]:
    env = stack.env(JOB_CONCURRENCY=concurrency, LOG_LEVEL="WARNING")
    return [
        subprocess.Popen(
            [sys.executable, "-m", "workers"],
            env=env,
            cwd=str(REPO),
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=open(stack.root / f"worker{i}.log", "ab"),
        )
        for i in range(n)
    ]


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        p.wait(30)


async def wait_workers(redis, n: int) -> None:
    while await redis.zcard(keys.JOBS_WORKERS) < n:
        await asyncio.sleep(0.05)


async def times(redis, ids: list[str], *fields: str) -> list[list[int]]:
    out = []
    for start in range(0, len(ids), 2000):
        async with redis.pipeline(transaction=False) as pipe:
            for job_id in ids[start : start + 2000]:
                pipe.hmget(keys.job_record(job_id), *fields)
            out += [[int(v) for v in row] for row in await pipe.execute()]
    return out


async def throughput(stack: Stack, redis, workers: int, jobs: int, concurrency: int) -> float:
    await redis.flushall()
    ids: list[str] = []
    t0 = time.perf_counter()
    for start in range(0, jobs, 1000):
        done = await producer.enqueue_many(redis, [JobSpec("noop") for _ in range(min(1000, jobs - start))])
        ids += [d.job_id for d in done]
    enqueue_rate = jobs / (time.perf_counter() - t0)
    procs = start_workers(stack, workers, concurrency)
    try:
        while await redis.zcard(keys.job_store_active(0)) > 0:
            await asyncio.sleep(0.05)
    finally:
        stop_workers(procs)
    rows = await times(redis, ids, "started_at", "finished_at")
    seconds = (max(r[1] for r in rows) - min(r[0] for r in rows)) / 1e6
    rate = jobs / seconds
    print(
        f"  {workers} worker(s) x {concurrency} slots: {jobs} no-op jobs in {seconds:.2f} s = {rate:,.0f} jobs/s"
        f"  (enqueue: {enqueue_rate:,.0f} jobs/s, pipelined)"
    )
    return rate


async def idle_latency(stack: Stack, redis, samples: int) -> tuple[float, float, float]:
    await redis.flushall()
    procs = start_workers(stack, 1, 8)
    try:
        await wait_workers(redis, 1)
        await asyncio.sleep(0.5)
        ids = []
        for _ in range(samples):
            ids.append((await producer.enqueue(redis, "noop")).job_id)
            await asyncio.sleep(0.01)
        while await redis.zcard(keys.job_store_active(0)) > 0:
            await asyncio.sleep(0.05)
    finally:
        stop_workers(procs)
    rows = await times(redis, ids, "enqueued_at", "started_at", "finished_at")
    start_ms = sorted((r[1] - r[0]) / 1000 for r in rows)
    done_ms = sorted((r[2] - r[0]) / 1000 for r in rows)
    p50, p99 = statistics.median(start_ms), start_ms[int(0.99 * (len(start_ms) - 1))]
    print(
        f"  idle enqueue-to-start latency over {samples} jobs: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
        f"max {start_ms[-1]:.2f} ms; enqueue-to-finish p50 {statistics.median(done_ms):.2f} ms"
    )
    return p50, p99, start_ms[-1]


async def main(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="siprems-jobs-bench-"))
    stack = Stack(root=root)
    (root / "log").mkdir(parents=True)  # only the queue Redis is needed: no PostgreSQL
    stack.start("queue")
    redis = aioredis.Redis.from_url(stack.env()["QUEUE_REDIS_URL"], decode_responses=True)
    try:
        print(f"jobs benchmark ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start)")
        for workers in (1, 2):
            await throughput(stack, redis, workers, args.jobs, args.concurrency)
        await idle_latency(stack, redis, args.samples)
    finally:
        await redis.aclose()
        stack.stop_all()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--samples", type=int, default=500)
    asyncio.run(main(parser.parse_args()))
