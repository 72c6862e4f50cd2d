"""How long a new product waits for its trained model when the workers are idle.

    .venv/bin/python benchmarks/first_model.py                  # against `make run` (HAProxy on :5000)
    .venv/bin/python benchmarks/first_model.py --products 6

Registers a fresh shop, imports --products products and 120 days of their sales
(the import queues training, debounced), then asks `POST /api/predict` for each
product at once: the first answer is the provisional baseline (`model.provisional`)
or already the model. It then asks again every 0.5 s (waiting out the predict rate limit) until every product answers
from a trained model, and prints, per product, the latency of the first answer and
the seconds from the import until the model answered.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from datetime import date, timedelta

import httpx


def _shop(client: httpx.Client) -> None:
    email = f"first-model-{uuid.uuid4().hex[:10]}@example.com"
    password = f"Fm-{uuid.uuid4().hex[:16]}"
    client.post("/api/auth/register", json={"email": email, "password": password, "full_name": "Bench"})
    r = client.post("/api/auth/login", json={"email": email, "password": password})
    r.raise_for_status()
    client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"


def _stock_the_shop(client: httpx.Client, products: int, days: int) -> list[str]:
    skus = [f"FM-{i:03d}" for i in range(products)]
    rows = [{"sku": s, "name": f"Product {s}", "category": "Bench", "price": 5000, "stock": 10_000} for s in skus]
    client.post("/api/products/import", json={"products": rows}).raise_for_status()
    rng, today = random.Random(7), date.today()
    sales = [
        {"product_sku": s, "quantity": rng.randint(1, 12), "transaction_date": (today - timedelta(days=d)).isoformat()}
        for d in range(days, 0, -1)
        for s in skus
    ]
    client.post("/api/transactions/import", json={"transactions": sales}).raise_for_status()
    return skus


def _predict(client: httpx.Client, sku: str) -> tuple[float, bool]:
    while True:
        started = time.perf_counter()
        r = client.post("/api/predict", json={"product_sku": sku, "days": 14})
        if r.status_code != 429:  # HAProxy's predict limit (RATE_PREDICT per 10 s): wait as told
            break
        time.sleep(float(r.headers.get("retry-after", "1")))
    r.raise_for_status()
    return time.perf_counter() - started, bool(r.json()["model"]["provisional"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:5000")
    parser.add_argument("--products", type=int, default=6)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    with httpx.Client(base_url=args.base_url, timeout=30) as client:
        _shop(client)
        skus = _stock_the_shop(client, args.products, args.days)
        imported = time.perf_counter()
        first = {sku: _predict(client, sku) for sku in skus}
        waiting = {sku for sku, (_, provisional) in first.items() if provisional}
        served = {sku: time.perf_counter() - imported for sku in skus if sku not in waiting}
        while waiting and time.perf_counter() - imported < args.timeout:
            time.sleep(0.5)
            for sku in sorted(waiting):
                if not _predict(client, sku)[1]:
                    served[sku] = time.perf_counter() - imported
                    waiting.discard(sku)
    print("| product | first answer ms | first answer | model served after import s |")
    print("|---|---:|---|---:|")
    for sku in skus:
        latency, provisional = first[sku]
        kind = "baseline (provisional)" if provisional else "model"
        after = f"{served[sku]:.1f}" if sku in served else f"> {args.timeout:.0f}"
        print(f"| {sku} | {latency * 1000:.0f} | {kind} | {after} |")
    if served:
        print(f"\nmedian {statistics.median(served.values()):.1f} s, slowest {max(served.values()):.1f} s")
    return 0 if not waiting else 1


if __name__ == "__main__":
    raise SystemExit(main())
