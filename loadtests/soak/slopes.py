"""The soak's verdict on each sampled series: does it keep growing after warm-up?

A single threshold would pass a slow leak that has not reached it yet and fail a
service that is merely big. Instead each series gets a least-squares slope over
the post-warm-up window, and it is **growing** when both

* the fitted rise over the whole window exceeds its tolerance (max of a relative
  share of the series' median and an absolute floor: noise and a warm cache stay
  below it), and
* the fitted rise over the window's second half alone is still more than half the
  tolerance pro-rated to that half (a rise that levelled off, such as a cache
  filling up to its working set, is not growth).

Memory is judged on private memory (RssAnon, `*_anon_mb`); total RSS (`*_rss_mb`) is charted
but not judged, since it includes shared memory a process merely touched (PostgreSQL backends
touching more of shared_buffers, bounded by its size). Cumulative counters (HAProxy totals),
the number of processes (PostgreSQL backends come and go with pgbouncer's pool) are not judged.
"""

from __future__ import annotations

from dataclasses import dataclass

# (column suffix or name, relative tolerance, absolute floor) over the window; the first match wins.
TOLERANCES = (
    ("_anon_mb", 0.05, 15.0),
    ("_fds", 0.05, 10.0),
    ("pg_connections", 0.10, 5.0),
    ("pg_active", 0.50, 5.0),
    ("pgbouncer_", 0.10, 5.0),
    ("_used_mb", 0.10, 2.0),
    ("_keys", 0.10, 200.0),
    ("jobs_", 0.10, 5.0),
)
SKIP = ("t", "elapsed_s", "haproxy_requests_total", "haproxy_5xx_total", "haproxy_4xx_total", "haproxy_sessions")


@dataclass
class Trend:
    column: str
    median: float
    slope_per_hour: float  # units of the column per hour, whole window
    rise: float  # fitted rise over the whole window
    late_rise: float  # fitted rise over the second half
    tolerance: float
    growing: bool


def slope(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=False)) / sxx if sxx else 0.0


def tolerance_for(column: str) -> tuple[float, float] | None:
    if column in SKIP or column.endswith(("_procs", "_rss_mb")):
        return None
    for suffix, rel, floor in TOLERANCES:
        if suffix in column:
            return rel, floor
    return 0.10, 1.0


def judge(rows: list[dict[str, float]], warmup_until: float) -> list[Trend]:
    """Trends of every judged column over the samples taken after `warmup_until` (elapsed s)."""
    window = [r for r in rows if r["elapsed_s"] >= warmup_until]
    if len(window) < 4:
        raise ValueError(f"only {len(window)} samples after warm-up: run longer or warm up shorter")
    half = window[len(window) // 2 :]
    span = window[-1]["elapsed_s"] - window[0]["elapsed_s"]
    half_span = half[-1]["elapsed_s"] - half[0]["elapsed_s"]
    trends = []
    for column in window[0]:
        tol = tolerance_for(column)
        if tol is None:
            continue
        ys = [float(r[column]) for r in window]
        median = sorted(ys)[len(ys) // 2]
        tolerance = max(tol[0] * abs(median), tol[1])
        s = slope([r["elapsed_s"] for r in window], ys)
        late = slope([r["elapsed_s"] for r in half], [float(r[column]) for r in half])
        rise, late_rise = s * span, late * half_span
        growing = rise > tolerance and late_rise > tolerance / 2 * (half_span / span if span else 1)
        trends.append(Trend(column, median, s * 3600, rise, late_rise, tolerance, growing))
    return trends


def markdown(trends: list[Trend]) -> str:
    lines = [
        "| series | median | slope /h | rise after warm-up | 2nd half | tolerance | verdict |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for t in trends:
        lines.append(
            f"| {t.column} | {t.median:g} | {t.slope_per_hour:+.2f} | {t.rise:+.2f} | {t.late_rise:+.2f} | "
            f"{t.tolerance:.1f} | {'**GROWING**' if t.growing else 'flat'} |"
        )
    return "\n".join(lines)
