"""The soak's resource curves as one PNG (matplotlib, a dev dependency)."""

from __future__ import annotations

import itertools
from pathlib import Path

PANELS = (
    ("private memory (RssAnon) per service, MiB", lambda c: c.endswith("_anon_mb") and "max_proc" not in c),
    ("RSS per service (incl. shared), MiB", lambda c: c.endswith("_rss_mb")),
    ("open file descriptors", lambda c: c.endswith("_fds")),
    (
        "database connections",
        lambda c: c.startswith(("pg_", "pgbouncer_")) and not c.endswith(("_mb", "_fds", "_procs")),
    ),
    ("Redis memory (MiB)", lambda c: c.endswith("_used_mb")),
    ("Redis keys", lambda c: c.startswith("redis_") and c.endswith("_keys")),
    ("job queues", lambda c: c.startswith("jobs_")),
    ("requests/s and 5xx (HAProxy)", lambda c: c in ("req_per_s", "haproxy_5xx_total")),
)


def draw(rows: list[dict[str, float]], warmup_until: float, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [dict(r) for r in rows]
    for prev, cur in itertools.pairwise(rows):  # request rate between samples
        dt = cur["elapsed_s"] - prev["elapsed_s"]
        cur["req_per_s"] = (cur["haproxy_requests_total"] - prev["haproxy_requests_total"]) / dt if dt else 0
    rows[0]["req_per_s"] = 0.0
    minutes = [r["elapsed_s"] / 60 for r in rows]
    fig, axes = plt.subplots(4, 2, figsize=(14, 16), sharex=True)
    for ax, (label, wanted) in zip(axes.flat, PANELS, strict=False):
        for column in [c for c in rows[-1] if wanted(c)]:
            ax.plot(minutes, [r.get(column, 0) for r in rows], label=column, linewidth=1)
        ax.axvline(warmup_until / 60, color="grey", linestyle="--", linewidth=0.8)
        ax.set_title(label)
        ax.legend(fontsize=6, loc="upper left")
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("minutes (dashed: end of warm-up)")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
