"""The soak's growth verdict (loadtests/soak/slopes.py) on hand-made series: a
steady leak fails, a rise that levelled off and noise around a level pass."""

from __future__ import annotations

import random
import sys

from devtools.stack import REPO

sys.path.insert(0, str(REPO / "loadtests"))

from soak import slopes


def _rows(series: dict[str, list[float]]) -> list[dict[str, float]]:
    n = len(next(iter(series.values())))
    return [{"elapsed_s": 10.0 * i, **{k: v[i] for k, v in series.items()}} for i in range(n)]


def _verdicts(series: dict[str, list[float]], warmup_until: float = 600.0) -> dict[str, bool]:
    return {t.column: t.growing for t in slopes.judge(_rows(series), warmup_until)}


def test_a_steady_leak_is_growing_and_a_plateau_or_noise_is_not():
    rng = random.Random(7)
    n = 360  # an hour of 10-s samples
    verdicts = _verdicts(
        {
            # 200 MiB worker leaking 30 MiB an hour: 25 MiB over the judged 50 min, tolerance 10 MiB
            "worker_anon_mb": [200 + 30 * i / n + rng.uniform(-1, 1) for i in range(n)],
            # a pool that grew to its working set in the first 20 min, then stayed
            "api1_fds": [100 + min(i, 120) / 4 + rng.choice((0, 1)) for i in range(n)],
            # busy noise around a level
            "pg_connections": [10 + rng.randint(-3, 3) for _ in range(n)],
            # keys filling towards an equilibrium (TTLs), then flat
            "redis_cache_keys": [9000 * (1 - 0.5 ** (i / 20)) for i in range(n)],
        }
    )
    assert verdicts == {
        "worker_anon_mb": True,
        "api1_fds": False,
        "pg_connections": False,
        "redis_cache_keys": False,
    }


def test_a_step_late_in_the_run_is_growth_a_step_early_is_not():
    n = 360
    late = [100.0] * 300 + [140.0] * 60  # the last 10 minutes: still rising as far as anyone can tell
    early = [100.0] * 120 + [140.0] * 240  # at minute 20, then flat for 40 minutes
    verdicts = _verdicts({"redis_fds": late, "queue_fds": early}, warmup_until=600.0)
    assert verdicts == {"redis_fds": True, "queue_fds": False}
    assert n == len(late) == len(early)


def test_counters_totals_and_shared_rss_are_not_judged():
    rows = _rows({"haproxy_requests_total": [float(i * 100) for i in range(60)], "postgres_rss_mb": list(range(60))})
    assert slopes.judge(rows, 0) == []
