"""SIPREMS load test: shop owners who each register, log in (password hashing
included), stock a small catalogue with some sales history, then follow
weighted journeys with 1–3 s think time.

Run through `make loadtest` (see README "Performance"). Requests are grouped
by route template (`name=`). Rate-limit answers (429) are counted as their own
request name ("… [429]") and never as errors; the exit gate excludes them.

Every virtual user sends its own `X-Forwarded-For` address: the load-test
stack trusts it from 127.0.0.1 (HAPROXY_TRUSTED_PROXY), as a deployment behind
a CDN would, so per-address limits see 500 clients, not one.
"""

from __future__ import annotations

import itertools
import os
import random
import time
import uuid
from datetime import date, timedelta

from locust import FastHttpUser, between, events, task
from locust.runners import WorkerRunner

_ids = itertools.count(1)
CATEGORIES = ["Beverages", "Snacks", "Bakery", "Dairy", "Household"]
P95_BUDGET_MS = float(os.environ.get("P95_BUDGET_MS", "100"))
MAX_ERROR_RATIO = float(os.environ.get("MAX_ERROR_RATIO", "0.005"))
HISTORY_DAYS = int(os.environ.get("HISTORY_DAYS", "60"))


def _catalogue(n: int = 8) -> list[dict]:
    return [
        {
            "sku": f"LT-{i:03d}",
            "name": f"Load product {i}",
            "category": CATEGORIES[i % len(CATEGORIES)],
            "price": 5000 + 500 * i,
            "cost_price": 3000 + 300 * i,
            "stock": 10_000,
        }
        for i in range(n)
    ]


def _history(skus: list[str], days: int) -> list[dict]:
    rng = random.Random(42)
    today = date.today()
    rows = []
    for d in range(days, 0, -1):
        day = today - timedelta(days=d)
        for sku in skus:
            rows.append(
                {
                    "product_sku": sku,
                    "quantity": rng.randint(1, 12) + (4 if day.weekday() >= 5 else 0),
                    "transaction_date": day.isoformat(),
                }
            )
    return rows


class ShopOwner(FastHttpUser):
    wait_time = between(1, 3)

    def on_start(self) -> None:
        n = next(_ids)
        self.forwarded = f"198.18.{n // 250 % 250}.{n % 250 + 1}"
        self.email = f"lt-{uuid.uuid4().hex[:12]}@load.test"
        self.password = "Loadtest123"
        self.headers = {"X-Forwarded-For": self.forwarded}
        self._call(
            "POST",
            "/api/auth/register",
            "/api/auth/register",
            json={"email": self.email, "password": self.password, "full_name": "Load Tester"},
        )
        body = self._call(
            "POST", "/api/auth/login", "/api/auth/login", json={"email": self.email, "password": self.password}
        )
        token = (body or {}).get("access_token", "")
        self.headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": self.forwarded}
        products = _catalogue()
        self.skus = [p["sku"] for p in products]
        self._call("POST", "/api/products/import", "/api/products/import", json={"products": products})
        self._call(
            "POST",
            "/api/transactions/import",
            "/api/transactions/import",
            json={"transactions": _history(self.skus, HISTORY_DAYS)},
        )
        # A shop's first prediction trains its model (synchronously, short history).
        self._call(
            "POST", "/api/predict", "/api/predict [first, trains]", json={"product_sku": self.skus[0], "days": 14}
        )
        _onboarded(self.environment)

    # -- helpers ---------------------------------------------------------------
    def _call(self, method: str, path: str, name: str, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        with self.client.request(method, path, name=name, headers=headers, catch_response=True, **kwargs) as r:
            if r.status_code == 429:
                # Designed behaviour, not an error: reported under its own name.
                r.request_meta["name"] = f"{name} [429]"
                r.success()
                return None
            if r.status_code >= 400 and not (method == "POST" and r.status_code == 409 and "checkout" in path):
                r.failure(f"HTTP {r.status_code}: {r.text[:200] if r.text else ''}")
                return None
            r.success()
            try:
                return r.json()
            except Exception:
                return None

    # -- journeys ----------------------------------------------------------------
    @task(12)
    def dashboard(self) -> None:
        self._call("GET", "/api/dashboard-stats", "/api/dashboard-stats")

    @task(4)
    def dashboard_metrics(self) -> None:
        rng = random.choice(["today", "week", "month", "year"])
        self._call("GET", f"/api/dashboard/metrics?range={rng}", "/api/dashboard/metrics?range=[range]")

    @task(10)
    def product_list(self) -> None:
        self._call("GET", "/api/products", "/api/products")

    @task(6)
    def product_detail(self) -> None:
        self._call("GET", f"/api/products/{random.choice(self.skus)}", "/api/products/[sku]")

    @task(5)
    def transactions(self) -> None:
        self._call("GET", "/api/transactions?limit=50", "/api/transactions?limit=50")

    @task(5)
    def checkout(self) -> None:
        items = [
            {"product": {"id": sku}, "quantity": random.randint(1, 3)}
            for sku in random.sample(self.skus, random.randint(1, 3))
        ]
        self._call(
            "POST",
            "/api/transactions/checkout",
            "/api/transactions/checkout",
            json={"items": items},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )

    @task(4)
    def calendar(self) -> None:
        self._call("GET", "/api/events", "/api/events")

    @task(2)
    def predict(self) -> None:
        # One product per shop: its first prediction trains a model (as a new
        # shop's would), later ones are answered from the registry or the cache.
        self._call("POST", "/api/predict", "/api/predict", json={"product_sku": self.skus[0], "days": 14})

    @task(1)
    def chat(self) -> None:
        question = random.choice(
            [
                "Produk apa yang stoknya menipis?",
                "What were my best sellers this week?",
                "Berapa pendapatan hari ini?",
                "Upcoming events?",
            ]
        )
        self._call("POST", "/api/chat", "/api/chat", json={"message": question})

    @task(1)
    def train(self) -> None:
        self._call(
            "POST",
            f"/api/tasks/training/product/{random.choice(self.skus)}",
            "/api/tasks/training/product/[sku]",
            headers={"Idempotency-Key": f"train-{self.email}"},
        )


_done = {"users": 0}


def _onboarded(environment) -> None:
    """Once every user has signed up and stocked its shop, print the sign-up
    phase's figures and restart the statistics: the gate measures the steady state."""
    _done["users"] += 1
    target = getattr(environment.parsed_options, "num_users", None)
    if os.environ.get("RESET_STATS", "1") != "1" or _done["users"] != target:
        return
    print(f"\nONBOARDING ({target} shops: register, login, import catalogue and {HISTORY_DAYS} days, first predict)")
    print("| request | count | p50 ms | p95 ms | max ms | failures |")
    print("|---|---:|---:|---:|---:|---:|")
    for entry in sorted(environment.stats.entries.values(), key=lambda e: e.name):
        if entry.name.startswith(
            ("/api/auth", "/api/products/import", "/api/transactions/import", "/api/predict [first")
        ):
            print(
                f"| {entry.method} {entry.name} | {entry.num_requests} | {entry.get_response_time_percentile(0.5):.0f} | "
                f"{entry.get_response_time_percentile(0.95):.0f} | {entry.max_response_time:.0f} | {entry.num_failures} |"
            )
    for error in sorted(environment.stats.errors.values(), key=lambda e: -e.occurrences):
        print(f"  sign-up phase failure x{error.occurrences}: {error.method} {error.name}: {str(error.error)[:160]}")
    environment.stats.reset_all()
    mark = os.environ.get("STEADY_MARK")
    if mark:  # tells loadtests/run.py to start the steady-state CPU split here
        with open(mark, "w") as f:
            f.write(str(time.time()))
    print("statistics reset: steady state from here\n", flush=True)


@events.quitting.add_listener
def _gate(environment, **_kw) -> None:
    """Exit non-zero when errors (429s excluded) exceed the ratio or p95 the budget."""
    if isinstance(environment.runner, WorkerRunner):
        return
    total = environment.stats.total
    limited = sum(s.num_requests for s in environment.stats.entries.values() if s.name.endswith("[429]"))
    served = max(total.num_requests - limited, 1)
    error_ratio = total.num_failures / served
    p95 = total.get_response_time_percentile(0.95) or 0
    ok = error_ratio <= MAX_ERROR_RATIO and p95 <= P95_BUDGET_MS
    print(
        f"\nGATE: requests={total.num_requests} rate_limited={limited} failures={total.num_failures} "
        f"error_ratio={error_ratio:.4%} (max {MAX_ERROR_RATIO:.2%}) p95={p95:.0f}ms (budget {P95_BUDGET_MS:.0f}ms) "
        f"-> {'PASS' if ok else 'FAIL'}"
    )
    environment.process_exit_code = 0 if ok else 1
