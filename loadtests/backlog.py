"""The training backlog of a load test: training jobs waiting in the queue
Redis (stream entries not yet acknowledged + delayed). Read by `run.py` (it
follows the drain after the load) and by the locustfile (it can restart the
statistics once the onboarding's backlog has drained)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from siprems import keys  # noqa: E402 - after the path set-up above

QUEUE_REDIS_URL = os.environ.get("QUEUE_REDIS_URL", "redis://127.0.0.1:6381/0")


class Backlog:
    def __init__(self, url: str = QUEUE_REDIS_URL) -> None:
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=2)

    def size(self) -> int:
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.xlen(keys.job_stream("training"))
            pipe.zcard(keys.JOBS_DELAYED)
            return sum(pipe.execute())
        except OSError:
            return 0
