"""Queue health for `/ready` and `siprems jobs status`: workers alive (recent
heartbeat), and per queue the entries waiting (lag), delivered but not yet
acknowledged (pending), plus delayed jobs and dead letters."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import orjson

from siprems import keys
from siprems.jobs.lease import HEARTBEAT_SECONDS
from siprems.jobs.records import text
from siprems.jobs.registry import QUEUES
from siprems.redis_client import Redis

ALIVE_SECONDS = 5 * HEARTBEAT_SECONDS


def _group_info(groups: list[dict[str, Any]]) -> dict[str, Any] | None:
    for group in groups if isinstance(groups, list) else []:
        g = {text(k): v for k, v in group.items()}
        if text(g.get("name")) == keys.JOBS_GROUP:
            lag = g.get("lag")
            return {
                "pending": int(g.get("pending") or 0),
                "lag": int(lag) if lag is not None else None,
                "consumers": int(g.get("consumers") or 0),
            }
    return None  # no group yet: no worker has ever started


async def queue_status(redis: Redis, queues: Sequence[str] = QUEUES, *, details: bool = False) -> dict[str, Any]:
    now_ms = int(time.time() * 1000)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zrangebyscore(keys.JOBS_WORKERS, now_ms - ALIVE_SECONDS * 1000, "+inf")
        pipe.zcard(keys.JOBS_DELAYED)
        for queue in queues:
            pipe.xinfo_groups(keys.job_stream(queue))
            pipe.xlen(keys.job_stream(queue))
            pipe.xlen(keys.job_dead_letters(queue))
        replies = await pipe.execute(raise_on_error=False)
    workers = sorted(text(w) for w in replies[0])
    status: dict[str, Any] = {"workers_alive": len(workers), "delayed": int(replies[1]), "queues": {}}
    for i, queue in enumerate(queues):
        groups, length, dead = replies[2 + 3 * i : 5 + 3 * i]
        length = length if isinstance(length, int) else 0
        info = _group_info(groups) or {"pending": 0, "lag": length, "consumers": 0}
        info["length"] = length
        info["dead_letters"] = dead if isinstance(dead, int) else 0
        status["queues"][queue] = info
    status["pending"] = sum(q["pending"] for q in status["queues"].values())
    status["lag"] = sum(q["lag"] or 0 for q in status["queues"].values())
    status["dead_letters"] = sum(q["dead_letters"] for q in status["queues"].values())
    if details:
        infos = await redis.mget([keys.job_worker_info(w) for w in workers]) if workers else []
        status["workers"] = [orjson.loads(i) if i else {"name": w} for w, i in zip(workers, infos, strict=False)]
    return status
