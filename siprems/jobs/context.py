"""What a handler gets: its job's identity and arguments, the PostgreSQL pool,
the queue Redis (`redis`) and the cache Redis (`cache_redis`, e.g. to
invalidate cached reads), the settings, checkpoints (`check_cancelled`,
`progress`) and fan-out to child jobs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from siprems import keys
from siprems.config import Settings
from siprems.db import Pool
from siprems.jobs import producer, scripts
from siprems.jobs.errors import JobCancelled, LeaseLost
from siprems.redis_client import Redis

log = logging.getLogger("siprems.jobs")


@dataclass
class ChildJob:
    type: str
    args: dict[str, Any]
    key: str  # unique among the parent's children: the child id is f"{parent}.{key}"


@dataclass
class WaitForChildren:
    """Returned by a fan-out handler: the job stays STARTED until its children finish."""

    total: int


class JobContext:
    def __init__(
        self,
        *,
        job_id: str,
        job_type: str,
        store_id: int,
        args: dict[str, Any],
        attempt: int,
        redis: Redis,
        pool: Pool,
        settings: Settings,
        worker: str,
        cache_redis: Redis | None = None,
        lease_lost: Callable[[], bool] = lambda: False,
    ) -> None:
        self.job_id = job_id
        self.type = job_type
        self.store_id = store_id
        self.args = args
        self.attempt = attempt
        self.redis = redis  # the queue Redis
        self.cache_redis = cache_redis  # the cache Redis (None only in tests that need none)
        self.pool = pool
        self.settings = settings
        self.worker = worker
        self._lease_lost = lease_lost
        self.log = logging.LoggerAdapter(log, {"job_id": job_id, "job_type": job_type})

    async def check_cancelled(self) -> None:
        """A checkpoint: raises JobCancelled if the job was cancelled, LeaseLost
        if another worker took it over."""
        if self._lease_lost():
            raise LeaseLost(self.job_id)
        if await self.redis.hget(keys.job_record(self.job_id), "cancel") in ("1", b"1"):
            raise JobCancelled(self.job_id)

    async def progress(self, percent: float, message: str | None = None) -> None:
        """Report progress (0-100) and pass a cancellation checkpoint."""
        fields: dict[str, Any] = {"progress": max(0, min(100, int(percent)))}
        if message is not None:
            fields["message"] = message
        await self.redis.hset(keys.job_record(self.job_id), mapping=fields)  # type: ignore[arg-type]  # str/int values
        await self.check_cancelled()

    async def fan_out(self, children: list[ChildJob], message: str | None = None) -> WaitForChildren:
        """Enqueue the children (idempotent: a re-run finds them already there)
        and seal the parent; return the value the handler should return."""
        for start in range(0, len(children), 200):
            await self.check_cancelled()
            await producer.enqueue_many(
                self.redis,
                [
                    producer.JobSpec(
                        c.type, c.args, store_id=self.store_id, job_id=f"{self.job_id}.{c.key}", parent_id=self.job_id
                    )
                    for c in children[start : start + 200]
                ],
            )
        if message:
            await self.redis.hset(keys.job_record(self.job_id), "message", message)
        seal = self.redis.register_script(scripts.SEAL_PARENT)
        await seal(args=[*scripts.PREFIX_ARGS, self.job_id, self.settings.job_result_ttl_seconds])
        return WaitForChildren(len(children))
