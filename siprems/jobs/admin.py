"""`siprems jobs ...`: look at the queues and repair them.

siprems jobs status              workers alive, per-queue lag/pending/dead letters
siprems jobs pending [-q QUEUE]  delivered, unacknowledged entries (idle time, deliveries, owner)
siprems jobs dead [-q QUEUE]     dead letters, newest first
siprems jobs redrive ID          put a dead job back in its queue (dead-letter entry id or job id)
siprems jobs show JOB_ID         one job record
siprems jobs cancel JOB_ID       revoke (not started) or stop at the next checkpoint (running)
siprems jobs enqueue TYPE [JSON] enqueue a job (e.g. `noop`, `cleanup_job_records`)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

import orjson
from redis import exceptions as redis_errors

from siprems import keys
from siprems.jobs import producer, records, scripts, status
from siprems.jobs.records import text
from siprems.jobs.registry import QUEUES, REGISTRY, load_plugins
from siprems.redis_client import Redis


def _print(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode() + "\n")


def _fields(raw: Any) -> dict[str, Any]:
    return {text(k): text(v) for k, v in (raw or {}).items()}


async def _pending(redis: Redis, queues: Sequence[str], limit: int) -> list[dict[str, Any]]:
    out = []
    for queue in queues:
        try:
            rows = await redis.xpending_range(keys.job_stream(queue), keys.JOBS_GROUP, "-", "+", limit)
        except redis_errors.ResponseError:  # no stream or group yet
            rows = []
        for row in rows:
            entry_id = text(row["message_id"])
            entry = await redis.xrange(keys.job_stream(queue), entry_id, entry_id)
            fields = _fields(entry[0][1]) if entry else {}
            out.append(
                {
                    "queue": queue,
                    "entry_id": entry_id,
                    "job_id": fields.get("id"),
                    "type": fields.get("type"),
                    "consumer": text(row["consumer"]),
                    "idle_ms": row["time_since_delivered"],
                    "deliveries": row["times_delivered"],
                }
            )
    return out


async def _dead(redis: Redis, queues: Sequence[str], limit: int) -> list[dict[str, Any]]:
    out = []
    for queue in queues:
        for entry_id, fields in await redis.xrevrange(keys.job_dead_letters(queue), count=limit) or []:
            out.append({"queue": queue, "dead_id": text(entry_id), **_fields(fields)})
    return out


async def redrive(redis: Redis, ident: str, queues: Sequence[str] = QUEUES) -> dict[str, Any]:
    """Re-drive by dead-letter entry id or by job id (its newest dead letter)."""
    for queue in queues:
        for entry_id, fields in await redis.xrevrange(keys.job_dead_letters(queue), count=10_000) or []:
            f = _fields(fields)
            if ident in (text(entry_id), f.get("job_id")):
                job_type = REGISTRY.get(f.get("type", ""))
                script = redis.register_script(scripts.REDRIVE)
                outcome, job_id = await script(
                    args=[*scripts.PREFIX_ARGS, queue, text(entry_id), job_type.max_retries if job_type else ""]
                )
                return {"outcome": text(outcome), "job_id": text(job_id), "queue": queue}
    return {"outcome": "MISSING", "job_id": None}


async def _run(args: argparse.Namespace) -> int:
    from siprems.config import load_settings
    from siprems.redis_client import create_redis

    settings = load_settings()
    load_plugins(settings.job_plugins)
    redis = create_redis(settings.queue_redis_url, timeout=5)
    queues = [args.queue] if getattr(args, "queue", None) else list(QUEUES)
    try:
        if args.command == "status":
            _print(await status.queue_status(redis, queues, details=True))
        elif args.command == "pending":
            _print(await _pending(redis, queues, args.limit))
        elif args.command == "dead":
            _print(await _dead(redis, queues, args.limit))
        elif args.command == "redrive":
            result = await redrive(redis, args.id, queues)
            _print(result)
            return 0 if result["outcome"] == "REDRIVEN" else 1
        elif args.command == "show":
            job = await records.get_job(redis, args.job_id)
            if job is None:
                _print({"error": "not_found", "job_id": args.job_id})
                return 1
            _print(
                {
                    **job.to_api(),
                    "queue": job.queue,
                    "store_id": job.store_id,
                    "worker": job.worker,
                    "traceback": job.traceback or None,
                }
            )
        elif args.command == "cancel":
            cancelled = await producer.cancel(redis, args.job_id, result_ttl=settings.job_result_ttl_seconds)
            _print({"job_id": args.job_id, "outcome": cancelled.outcome, "state": cancelled.state})
            return 0 if cancelled.outcome in ("REVOKED", "CANCELLING") else 1
        elif args.command == "enqueue":
            done = await producer.enqueue(redis, args.type, orjson.loads(args.args), store_id=args.store)
            _print({"job_id": done.job_id, "created": done.created})
    finally:
        await redis.aclose()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="siprems jobs", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="workers, queues, pending entries, dead letters")
    for name in ("pending", "dead"):
        p = sub.add_parser(name)
        p.add_argument("-q", "--queue", choices=QUEUES)
        p.add_argument("--limit", type=int, default=50)
    p = sub.add_parser("redrive", help="put a dead-lettered job back in its queue")
    p.add_argument("id", help="dead-letter entry id or job id")
    p.add_argument("-q", "--queue", choices=QUEUES)
    sub.add_parser("show").add_argument("job_id")
    sub.add_parser("cancel").add_argument("job_id")
    p = sub.add_parser("enqueue")
    p.add_argument("type")
    p.add_argument("args", nargs="?", default="{}", help="JSON object of arguments")
    p.add_argument("--store", type=int, default=0, help="store id (0: a system job)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return asyncio.run(_run(args))
    except (redis_errors.ConnectionError, redis_errors.TimeoutError) as exc:
        sys.stderr.write(f"cannot reach the queue Redis (QUEUE_REDIS_URL): {exc}\n")
        return 2
