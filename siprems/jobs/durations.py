"""Job run times by type, for `/metrics` on any API instance.

Workers run on other machines than the API, so their figures live in Redis:
each worker adds its observations up in memory and merges them every few
seconds into one hash per job type (cumulative histogram buckets, count, sum,
outcomes). Figures of the last few seconds before a worker crash are lost;
that is the price of not writing to Redis once per job (the queue runs
thousands of jobs a second). `render()` turns the hashes into a Prometheus
histogram `siprems_job_duration_seconds{type=...}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict

from siprems import keys
from siprems.jobs.records import text
from siprems.redis_client import Redis

log = logging.getLogger("siprems.jobs.durations")

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
FLUSH_SECONDS = 5.0


class DurationStats:
    def __init__(self) -> None:
        self._counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def observe(self, job_type: str, outcome: str, seconds: float) -> None:
        fields = self._counts[job_type]
        fields["count"] += 1
        fields["sum"] += seconds
        fields[f"outcome:{outcome}"] += 1
        for bound in BUCKETS:
            if seconds <= bound:
                fields[f"le:{bound}"] += 1

    async def flush(self, redis: Redis) -> None:
        if not self._counts:
            return
        counts, self._counts = self._counts, defaultdict(lambda: defaultdict(float))
        try:
            async with redis.pipeline(transaction=False) as pipe:
                pipe.sadd(keys.JOBS_DURATION_TYPES, *counts)
                for job_type, fields in counts.items():
                    key = keys.job_durations(job_type)
                    for field, value in fields.items():
                        if field == "sum":
                            pipe.hincrbyfloat(key, field, value)
                        else:
                            pipe.hincrby(key, field, int(value))
                await pipe.execute()
        except Exception as exc:  # noqa: BLE001 - metrics must never stop the worker
            log.warning("job durations not recorded: %r", exc)

    async def run(self, redis: Redis, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), FLUSH_SECONDS)
            await self.flush(redis)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


async def render(redis: Redis) -> list[str]:
    """Prometheus text lines for every job type a worker has recorded."""
    job_types = sorted(text(t) for t in await redis.smembers(keys.JOBS_DURATION_TYPES))
    async with redis.pipeline(transaction=False) as pipe:
        for job_type in job_types:
            pipe.hgetall(keys.job_durations(job_type))
        replies = await pipe.execute()
    lines = [
        "# HELP siprems_job_duration_seconds Job run time by type (all workers)",
        "# TYPE siprems_job_duration_seconds histogram",
    ]
    outcomes = [
        "# HELP siprems_jobs_finished_total Jobs finished by type and outcome (all workers)",
        "# TYPE siprems_jobs_finished_total counter",
    ]
    for job_type, raw in zip(job_types, replies, strict=False):
        if not raw:
            continue
        fields = {text(k): float(text(v)) for k, v in raw.items()}
        name = _label(job_type)
        for bound in BUCKETS:
            lines.append(
                f'siprems_job_duration_seconds_bucket{{type="{name}",le="{bound}"}} {fields.get(f"le:{bound}", 0):.0f}'
            )
        lines.append(f'siprems_job_duration_seconds_bucket{{type="{name}",le="+Inf"}} {fields.get("count", 0):.0f}')
        lines.append(f'siprems_job_duration_seconds_count{{type="{name}"}} {fields.get("count", 0):.0f}')
        lines.append(f'siprems_job_duration_seconds_sum{{type="{name}"}} {fields.get("sum", 0.0)}')
        for field, value in sorted(fields.items()):
            if field.startswith("outcome:"):
                outcomes.append(
                    f'siprems_jobs_finished_total{{type="{name}",outcome="{_label(field[8:])}"}} {value:.0f}'
                )
    return lines + outcomes
