"""The scheduled clean-up: job records expire by themselves (TTL after they
finish); this removes what points at them, repairs jobs whose stream entry
was lost (e.g. the last second of writes before a Redis crash with AOF
everysec), trims old dead letters and forgets long-gone workers."""

from __future__ import annotations

import time

from siprems import keys
from siprems.config import Settings
from siprems.jobs.records import text
from siprems.jobs.registry import QUEUES
from siprems.redis_client import Redis

REPAIR_AFTER_SECONDS = 600
DEAD_LETTER_DAYS = 30
FORGET_WORKERS_AFTER_SECONDS = 3600


async def cleanup(redis: Redis, settings: Settings) -> dict[str, int]:
    now = time.time()
    dropped = repaired = 0
    async for key in redis.scan_iter(match=keys.job_store_active("") + "*", count=500):
        ids = [text(i) for i in await redis.zrange(key, 0, -1)]
        async with redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hmget(keys.job_record(job_id), "state", "entry", "queue", "enqueued_at", "created_at")
                pipe.zscore(keys.JOBS_DELAYED, job_id)
            replies = await pipe.execute()
        for job_id, (fields, delayed) in zip(ids, zip(replies[0::2], replies[1::2], strict=False), strict=False):
            state, entry, queue, enqueued, created = (text(f) for f in fields)
            if state in ("", "SUCCESS", "FAILURE", "REVOKED"):
                dropped += await redis.zrem(key, job_id)
                continue
            if state not in ("PENDING", "RETRY") or delayed is not None:
                continue
            since = int(enqueued or created or 0) / 1_000_000
            if now - since < REPAIR_AFTER_SECONDS:
                continue
            if entry and await redis.xrange(keys.job_stream(queue), entry, entry):
                continue
            # Its entry is gone: let the delayed mover give it a new one now.
            await redis.zadd(keys.JOBS_DELAYED, {job_id: int(now * 1000)})
            repaired += 1
    min_id = f"{int((now - DEAD_LETTER_DAYS * 86400) * 1000)}-0"
    trimmed = 0
    for queue in QUEUES:
        trimmed += await redis.xtrim(keys.job_dead_letters(queue), minid=min_id, approximate=False)
    forgotten = await redis.zremrangebyscore(keys.JOBS_WORKERS, 0, int((now - FORGET_WORKERS_AFTER_SECONDS) * 1000))
    return {
        "index_entries_dropped": dropped,
        "jobs_repaired": repaired,
        "dead_letters_trimmed": trimmed,
        "workers_forgotten": forgotten,
    }
