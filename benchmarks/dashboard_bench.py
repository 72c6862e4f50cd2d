"""Dashboard (and sales/events list) latency on the demo shop: 22 products,
two years of sales (~30k lines), through HAProxy, PostgreSQL via pgbouncer.

    .venv/bin/python benchmarks/dashboard_bench.py              # throwaway stack + demo data
    .venv/bin/python benchmarks/dashboard_bench.py -n 50 --explain-only

For each endpoint it prints client-side latency (p50/p95/max, ms) with the
per-store Redis cache cold (the cache generation is bumped before every call,
so each request runs its SQL) and warm (served from Redis). It also prints
EXPLAIN ANALYZE of every dashboard query: execution time and the scans used.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg2
import redis

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from siprems import keys
from siprems.calendar.locale import StoreLocale
from siprems.dashboard import queries as q

ENDPOINTS = [
    "/api/dashboard-stats",
    "/api/dashboard/metrics?range=today",
    "/api/dashboard/metrics?range=week",
    "/api/dashboard/metrics?range=month",
    "/api/dashboard/metrics?range=year",
    "/api/dashboard/sales-chart",
    "/api/dashboard/category-sales",
    "/api/transactions?limit=100",
    "/api/transactions?limit=1000",
    "/api/events",
    "/api/system/settings/status",
]


def explain_all(dsn: str, store_id: int) -> None:
    locale = StoreLocale(store_id, "ID", None, "Asia/Jakarta")
    today = locale.today()
    day_start, day_end = locale.days_window(today, today)
    week_start, _ = locale.days_window(today - timedelta(days=6), today)
    year_start, _ = locale.days_window(today - timedelta(days=364), today)
    prev_year, _ = locale.days_window(today - timedelta(days=729), today)
    chart_start, _ = locale.days_window(today - timedelta(days=89), today)
    since, _ = locale.days_window(today - timedelta(days=q.DEMAND_WINDOW_DAYS), today)
    base = {"store": store_id, "tz": locale.timezone}
    plans = [
        ("salesTrend: 7 days", q.DAILY, {**base, "start": week_start, "end": day_end}),
        ("stockComparison: units sold", q.SOLD_BY_PRODUCT, {**base, "ids": [], "since": since, "end": day_start}),
        (
            "metrics: year vs previous",
            q.PERIOD_TOTALS,
            {**base, "prev_start": prev_year, "start": year_start, "end": day_end},
        ),
        ("sales-chart: 90 days", q.DAILY, {**base, "start": chart_start, "end": day_end}),
        ("category-sales: 90 days", q.CATEGORY_SALES, {**base, "start": chart_start, "end": day_end}),
    ]
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("ANALYZE transactions; ANALYZE products")
        cur.execute("SELECT count(*) FROM transactions WHERE store_id = %s", (store_id,))
        print(f"\nEXPLAIN ANALYZE (store {store_id}, {cur.fetchone()[0]} sales lines)")
        print(f"{'query':32} {'exec ms':>8}  scans")
        for name, sql, params in plans:
            times, nodes = [], []
            for _ in range(5):
                cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
                plan = cur.fetchone()[0][0]
                times.append(plan["Execution Time"])
            _scans(plan["Plan"], nodes)
            print(f"{name:32} {statistics.median(times):8.2f}  {', '.join(dict.fromkeys(nodes))}")


def _scans(node: dict, out: list[str]) -> None:
    if "Scan" in node["Node Type"]:
        out.append(f"{node['Node Type']}({node.get('Index Name') or node.get('Relation Name')})")
    for child in node.get("Plans", []):
        _scans(child, out)


def _percentiles(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return f"{statistics.median(samples):7.1f} {p95:7.1f} {samples[-1]:7.1f}"


def measure(base_url: str, redis_url: str, store_id: int, token: str, n: int) -> None:
    cache = redis.Redis.from_url(redis_url)
    print(f"\nHTTP latency through HAProxy, {n} requests each (ms)")
    print(f"{'endpoint':40} {'cold p50':>8} {'p95':>7} {'max':>7}   {'warm p50':>8} {'p95':>7} {'max':>7}")
    with httpx.Client(base_url=base_url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as c:
        for path in ENDPOINTS:
            c.get(path).raise_for_status()  # warm connections and process-level caches
            cold, warm = [], []
            for _ in range(n):
                cache.incr(keys.cache_generation(store_id, "sales"))
                t = time.perf_counter()
                c.get(path).raise_for_status()
                cold.append((time.perf_counter() - t) * 1000)
            for _ in range(n):
                t = time.perf_counter()
                c.get(path).raise_for_status()
                warm.append((time.perf_counter() - t) * 1000)
            print(f"{path:40} {_percentiles(cold)}   {_percentiles(warm)}")


def add_other_stores(dsn: str, store_id: int, copies: int) -> None:
    """Copy the demo shop's products and sales into `copies` other stores, so
    the plans are those of a shared, multi-tenant table."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        for i in range(copies):
            cur.execute("INSERT INTO stores (name) VALUES (%s) RETURNING store_id", (f"Other shop {i}",))
            other = cur.fetchone()[0]
            cur.execute(
                """INSERT INTO products (store_id, sku, name, category, price, cost_price, stock, created_at)
                           SELECT %s, sku, name, category, price, cost_price, stock, created_at FROM products
                            WHERE store_id = %s""",
                (other, store_id),
            )
            cur.execute(
                """INSERT INTO transactions (store_id, product_id, quantity_sold, price_per_unit, is_promo,
                                                     transaction_date, checkout_id)
                           SELECT %s, np.product_id, t.quantity_sold, t.price_per_unit, t.is_promo,
                                  t.transaction_date, t.checkout_id
                             FROM transactions t JOIN products op ON op.product_id = t.product_id
                             JOIN products np ON np.store_id = %s AND np.sku = op.sku
                            WHERE t.store_id = %s""",
                (other, other, store_id),
            )
        cur.execute("SELECT count(*) FROM transactions")
        print(f"{copies} other stores added: {cur.fetchone()[0]} sales lines in the table")


def _demo_store(dsn: str) -> int:
    from siprems.demo.seed import DEMO_EMAIL

    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT store_id FROM users WHERE lower(email) = %s", (DEMO_EMAIL,))
        return cur.fetchone()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--requests", type=int, default=30, help="requests per endpoint and cache state")
    parser.add_argument("--explain-only", action="store_true", help="only EXPLAIN ANALYZE, no HTTP")
    parser.add_argument("--dsn", help="EXPLAIN against this (already seeded) database instead; no stack")
    parser.add_argument(
        "--other-stores",
        type=int,
        default=9,
        help="copies of the demo sales under other stores (a shared table; default 9)",
    )
    args = parser.parse_args()
    if args.dsn:
        explain_all(args.dsn, _demo_store(args.dsn))
        return 0

    os.environ["RATE_GENERAL"] = "1000000"  # the benchmark is one user: no rate limit
    from devtools.stack import Stack
    from siprems.demo.seed import DEMO_EMAIL, DEMO_PASSWORD, seed

    root = Path(tempfile.mkdtemp(prefix="siprems-bench-"))
    stack = Stack(root=root, fast_unsafe_postgres=False)
    try:
        stack.start_all(apis=not args.explain_only)
        if args.explain_only:
            from siprems.db.migrate import apply_migrations

            apply_migrations(stack.direct_url)
        t = time.perf_counter()
        print(seed(stack.direct_url), f"({time.perf_counter() - t:.1f} s)")
        store_id = _demo_store(stack.direct_url)
        add_other_stores(stack.direct_url, store_id, args.other_stores)
        explain_all(stack.direct_url, store_id)
        if not args.explain_only:
            r = httpx.post(stack.base_url + "/api/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
            r.raise_for_status()
            measure(
                stack.base_url,
                f"redis://127.0.0.1:{stack.ports.redis}/0",
                store_id,
                r.json()["access_token"],
                args.requests,
            )
    finally:
        stack.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
