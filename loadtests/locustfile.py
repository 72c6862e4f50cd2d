"""SIPREMS load test: the browse workload of 500 shop owners (capacity issue).

Every virtual user registers its own shop, logs in (password hashing
included), imports 6 products and 120 days of their sales, then clicks through
pages with 0.5–2 s think time: product list and detail, transactions list, a
single sale (`POST /api/transactions`), dashboard, events, `/health`, and a
forecast of any of its products (`POST /api/predict`, a random SKU of its
shop: a product without a model yet gets the provisional baseline while a
worker trains it). Statistics restart once every shop is onboarded, so the
gate measures the steady state; the onboarding figures are printed first.

Run through `make loadtest` (see README "Performance"). Requests are grouped
by route template (`name=`). Rate-limit answers (429) are counted as their own
request name ("… [429]") and never as errors; the exit gate excludes them and
the README reports them.

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

import gevent
from locust import FastHttpUser, between, events, task
from locust.runners import WorkerRunner

from backlog import Backlog

_ids = itertools.count(1)
CATEGORIES = ["Beverages", "Snacks", "Bakery", "Dairy", "Household"]
P95_BUDGET_MS = float(os.environ.get("P95_BUDGET_MS", "100"))
MAX_ERROR_RATIO = float(os.environ.get("MAX_ERROR_RATIO", "0.005"))
PRODUCTS = int(os.environ.get("PRODUCTS", "6"))
HISTORY_DAYS = int(os.environ.get("HISTORY_DAYS", "120"))
TOKEN_REFRESH_SECONDS = float(
    os.environ.get("TOKEN_REFRESH_SECONDS", "1200")
)  # access tokens live 30 min (JWT_ACCESS_MINUTES)
THINK_MIN, THINK_MAX = float(os.environ.get("THINK_MIN", "0.5")), float(os.environ.get("THINK_MAX", "2"))


def _catalogue(n: int) -> list[dict]:
    return [
        {
            "sku": f"LT-{i:03d}",
            "name": f"Load product {i}",
            "category": CATEGORIES[i % len(CATEGORIES)],
            "price": 5000 + 500 * i,
            "cost_price": 3000 + 300 * i,
            "stock": 100_000,
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
    wait_time = between(THINK_MIN, THINK_MAX)

    def on_start(self) -> None:
        _done.setdefault("started", time.time())
        self.tokens_at = time.time()
        n = next(_ids)
        self.forwarded = f"198.18.{n // 250 % 250}.{n % 250 + 1}"
        self.email = f"lt-{uuid.uuid4().hex[:12]}@load.test"
        self.password = f"Lt-{uuid.uuid4().hex[:16]}"
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
        self._use_tokens(body)
        products = _catalogue(PRODUCTS)
        self.skus = [p["sku"] for p in products]
        self._call("POST", "/api/products/import", "/api/products/import", json={"products": products})
        self._call(
            "POST",
            "/api/transactions/import",
            "/api/transactions/import",
            json={"transactions": _history(self.skus, HISTORY_DAYS)},
        )
        _onboarded(self.environment)

    # -- helpers ---------------------------------------------------------------
    def _use_tokens(self, body) -> None:
        self.refresh_token = (body or {}).get("refresh_token", "")
        token = (body or {}).get("access_token", "")
        self.headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": self.forwarded}

    def _refresh(self) -> bool:
        """A 30-minute access token expires in a long run: rotate it as the frontend does."""
        body = self._call(
            "POST", "/api/auth/refresh", "/api/auth/refresh", json={"refresh_token": self.refresh_token}, retry=False
        )
        if not body or not body.get("access_token"):
            return False
        self._use_tokens(body)
        return True

    def _call(self, method: str, path: str, name: str, retry: bool = True, **kwargs):
        if retry and getattr(self, "refresh_token", "") and time.time() - self.tokens_at > TOKEN_REFRESH_SECONDS:
            self.tokens_at = time.time()
            self._refresh()
        headers = {**self.headers, **kwargs.pop("headers", {})}
        with self.client.request(method, path, name=name, headers=headers, catch_response=True, **kwargs) as r:
            if r.status_code == 429:
                # Designed behaviour, not an error: reported under its own name.
                r.request_meta["name"] = f"{name} [429]"
                r.success()
                return None
            if r.status_code >= 400 and not (r.status_code == 409 and method == "POST" and "transactions" in path):
                r.failure(f"HTTP {r.status_code}: {r.text[:200] if r.text else ''}")
                return None
            r.success()
            try:
                return r.json()
            except Exception:  # noqa: BLE001 - a body that is not JSON is reported by its status above
                return None

    # -- the pages a shop owner clicks through ----------------------------------
    @task(3)
    def dashboard(self) -> None:
        self._call("GET", "/api/dashboard-stats", "/api/dashboard-stats")

    @task(3)
    def product_list(self) -> None:
        self._call("GET", "/api/products", "/api/products")

    @task(3)
    def product_detail(self) -> None:
        self._call("GET", f"/api/products/{random.choice(self.skus)}", "/api/products/[sku]")

    @task(2)
    def transactions(self) -> None:
        self._call("GET", "/api/transactions?limit=50", "/api/transactions?limit=50")

    @task(2)
    def sale(self) -> None:
        self._call(
            "POST",
            "/api/transactions",
            "/api/transactions",
            json={"product_sku": random.choice(self.skus), "quantity": random.randint(1, 3)},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )

    @task(1)
    def calendar(self) -> None:
        self._call("GET", "/api/events", "/api/events")

    @task(1)
    def health(self) -> None:
        self._call("GET", "/health", "/health")

    @task(2)
    def predict(self) -> None:
        # Any product of the shop: its first forecast is the provisional
        # baseline (a worker trains the model), later ones come from the model.
        self._call("POST", "/api/predict", "/api/predict", json={"product_sku": random.choice(self.skus), "days": 14})


_done: dict[str, float] = {"users": 0}
ONBOARDING_REQUESTS = ("/api/auth", "/api/products/import", "/api/transactions/import")


def _onboarded(environment) -> None:
    """Once every user has signed up and stocked its shop, print the sign-up
    phase's figures and restart the statistics: the gate measures the steady state."""
    _done["users"] += 1
    target = getattr(environment.parsed_options, "num_users", None)
    if os.environ.get("RESET_STATS", "1") != "1" or _done["users"] != target:
        return
    took = time.time() - _done.get("started", time.time())
    print(
        f"\nONBOARDING ({target} shops: register, login, import {PRODUCTS} products and {HISTORY_DAYS} days) "
        f"took {took:.1f} s"
    )
    print("| request | count | p50 ms | p95 ms | max ms | failures |")
    print("|---|---:|---:|---:|---:|---:|")
    for entry in sorted(environment.stats.entries.values(), key=lambda e: e.name):
        if entry.name.startswith(
            ("/api/auth", "/api/products/import", "/api/transactions/import", "/api/predict [first")
        ):
            print(
                f"| {entry.method} {entry.name} | {entry.num_requests} | "
                f"{entry.get_response_time_percentile(0.5):.0f} | {entry.get_response_time_percentile(0.95):.0f} | "
                f"{entry.max_response_time:.0f} | {entry.num_failures} |"
            )
    for error in sorted(environment.stats.errors.values(), key=lambda e: -e.occurrences):
        print(f"  sign-up phase failure x{error.occurrences}: {error.method} {error.name}: {str(error.error)[:160]}")
    environment.stats.reset_all()
    mark = os.environ.get("STEADY_MARK")
    if mark:  # tells loadtests/run.py to start the steady-state CPU split here
        with open(mark, "w") as f:
            f.write(str(time.time()))
    print("statistics reset: steady state from here\n", flush=True)
    if os.environ.get("BACKLOG_RESET") == "1":
        gevent.spawn(_reset_when_drained, environment)


def _reset_when_drained(environment) -> None:
    """BACKLOG_RESET=1: the onboarding queued a model per product (3,000 at 500 shops);
    once the workers have trained them, print the figures of that phase and restart
    the statistics, so the final ones are the steady state of shops with models."""
    queue, started = Backlog(), time.time()
    while queue.size() > 0:
        gevent.sleep(2)
    print(f"\nBACKLOG DRAINED {time.time() - started:.0f} s after the onboarding; the steady state until then:")
    _print_table(
        environment, lambda name: not name.startswith(("/api/auth", "/api/products/import", "/api/transactions/import"))
    )
    served = environment.stats.total.num_requests
    environment.stats.reset_all()
    mark = os.environ.get("DRAINED_MARK")
    if mark:
        with open(mark, "w") as f:
            f.write(f"{time.time()} {served}")
    print("statistics reset: steady state with models from here\n", flush=True)


def _print_table(environment, wanted) -> None:
    print("| request | count | p50 ms | p95 ms | p99 ms | failures |")
    print("|---|---:|---:|---:|---:|---:|")
    entries = [e for e in environment.stats.entries.values() if wanted(e.name)] + [environment.stats.total]
    for entry in entries:
        print(
            f"| {entry.method or ''} {entry.name} | {entry.num_requests} | "
            f"{entry.get_response_time_percentile(0.5):.0f} | {entry.get_response_time_percentile(0.95):.0f} | "
            f"{entry.get_response_time_percentile(0.99):.0f} | {entry.num_failures} |"
        )


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
