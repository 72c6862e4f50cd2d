"""Bulk-import throughput, end to end through HAProxy (HTTP, validation,
PostgreSQL through pgbouncer).

    .venv/bin/python benchmarks/import_bench.py                 # starts a throwaway stack
    .venv/bin/python benchmarks/import_bench.py --base-url http://127.0.0.1:5000   # `make run`

Each run registers a fresh user (its own store), imports --rows products
(JSON, then again as an upsert over CSV), then --rows sales lines as JSON and
as CSV, and prints rows/s for each. Imports are all-or-nothing, so the time
includes validating every row before the first INSERT.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import shutil
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _login(base_url: str) -> dict:
    email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
    with httpx.Client(base_url=base_url, timeout=60) as c:
        r = c.post("/api/auth/register", json={"email": email, "password": "Bench12345", "full_name": "Bench"})
        r.raise_for_status()
        r = c.post("/api/auth/login", json={"email": email, "password": "Bench12345"})
        r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def product_rows(n: int) -> list[dict]:
    return [
        {
            "sku": f"B-{i:06d}",
            "name": f"Bench product {i}",
            "category": f"Cat {i % 12}",
            "price": f"{1 + i % 500}.{i % 100:02d}",
            "cost_price": f"{i % 400}.50",
            "stock": i % 300,
        }
        for i in range(n)
    ]


def sale_rows(n: int, skus: list[str]) -> list[dict]:
    rng = random.Random(7)
    start = date.today() - timedelta(days=730)
    return [
        {
            "product_sku": rng.choice(skus),
            "quantity": rng.randint(1, 12),
            "transaction_date": f"{start + timedelta(days=rng.randrange(730))}T{rng.randrange(8, 21):02d}:"
            f"{rng.randrange(60):02d}:00",
            "is_promo": rng.random() < 0.1,
        }
        for _ in range(n)
    ]


def to_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def timed_post(client: httpx.Client, path: str, label: str, n: int, **kw) -> float:
    started = time.perf_counter()
    r = client.post(path, **kw)
    elapsed = time.perf_counter() - started
    if r.status_code != 200:
        raise SystemExit(f"{label}: HTTP {r.status_code}: {r.text[:500]}")
    size = len(kw.get("content") or b"") or None
    print(
        f"{label:<34} {n:>7} rows  {elapsed:6.2f} s  {n / elapsed:>9,.0f} rows/s"
        + (f"  ({size / 2**20:.1f} MiB body)" if size else "")
        + f"  -> {r.json()}"
    )
    return n / elapsed


def run(base_url: str, rows: int, products: int) -> dict:
    headers = _login(base_url)
    results = {}
    with httpx.Client(base_url=base_url, timeout=300, headers=headers) as c:
        prods = product_rows(products)
        results["products_json"] = timed_post(
            c, "/api/products/import", "products import (JSON, create)", products, json={"products": prods}
        )
        results["products_csv"] = timed_post(
            c,
            "/api/products/import",
            "products import (CSV, upsert)",
            products,
            content=to_csv(prods),
            headers={"Content-Type": "text/csv"},
        )
        skus = [p["sku"] for p in prods[:200]]
        sales = sale_rows(rows, skus)
        results["sales_json"] = timed_post(
            c, "/api/transactions/import", "transactions import (JSON)", rows, json={"transactions": sales}
        )
        results["sales_csv"] = timed_post(
            c,
            "/api/transactions/import",
            "transactions import (CSV)",
            rows,
            content=to_csv(sales),
            headers={"Content-Type": "text/csv"},
        )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", help="a running stack (default: start a throwaway one)")
    parser.add_argument("--rows", type=int, default=100_000, help="sales lines per import (max 100000)")
    parser.add_argument("--products", type=int, default=100_000, help="products per import (max 100000)")
    args = parser.parse_args()
    if args.base_url:
        run(args.base_url, args.rows, args.products)
        return 0
    from devtools.stack import Stack

    root = Path(tempfile.mkdtemp(prefix="siprems-bench-"))
    stack = Stack(root=root, fast_unsafe_postgres=True)
    try:
        stack.start_all()
        print(f"stack at {stack.base_url} (PostgreSQL fsync off, as in the tests)")
        run(stack.base_url, args.rows, args.products)
    finally:
        stack.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
