"""Seed through the API, as a shop would: register users (one store each),
create products with stock, import sales history, and train a first model
per product (jobs on the workers), so predictions answer from stored models."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import date, timedelta

import httpx

from chaos.traffic import ShopUser

PASSWORD = "Chaos12345"


async def _auth_post(http: httpx.AsyncClient, path: str, body: dict) -> httpx.Response:
    """HAProxy limits /api/auth/* per address (RATE_AUTH): wait out a 429 (bounded)."""
    for _ in range(20):
        r = await http.post(path, json=body)
        if r.status_code != 429:
            break
        await asyncio.sleep(float(r.headers.get("retry-after", "1")))
    r.raise_for_status()
    return r


async def register(http: httpx.AsyncClient, label: str) -> dict:
    email = f"{label}-{uuid.uuid4().hex[:8]}@chaos.example"
    await _auth_post(http, "/api/auth/register", {"email": email, "password": PASSWORD, "full_name": label})
    return (await _auth_post(http, "/api/auth/login", {"email": email, "password": PASSWORD})).json()


def _history(skus: list[str], days: int, rng: random.Random) -> list[dict]:
    today = date.today()
    rows = []
    for sku in skus:
        base = rng.uniform(2, 8)
        for back in range(days, 0, -1):
            day = today - timedelta(days=back)
            qty = max(0, round(base * (1.3 if day.weekday() >= 5 else 1.0) + rng.gauss(0, 1.5)))
            if qty:
                rows.append({"product_sku": sku, "quantity": qty, "transaction_date": day.isoformat()})
    return rows


async def shop_user(base_url: str, index: int, *, products: int, history_days: int, rng: random.Random) -> ShopUser:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as anon:
        login = await register(anon, f"chaos-shop-{index}")
    token = login["access_token"]
    stocks: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=base_url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as c:
        for p in range(products):
            sku = f"CH{index:02d}-{p:02d}"
            # One scarce product per shop, so some carts meet "insufficient stock" and the
            # check "stock never negative" has something to bite on.
            stock = 15 if p == 0 else rng.randint(300, 600)
            r = await c.post(
                "/api/products/",
                json={
                    "sku": sku,
                    "name": f"Chaos item {index}-{p}",
                    "category": "Chaos",
                    "price": 10 + p,
                    "stock": stock,
                },
            )
            r.raise_for_status()
            stocks[sku] = stock
        r = await c.post("/api/transactions/import", json={"transactions": _history(list(stocks), history_days, rng)})
        r.raise_for_status()
    return ShopUser(f"shop{index}", login["user_id"], login["store_id"], token, f"chaos-session-{index}", stocks)


async def train_all(base_url: str, users: list[ShopUser], timeout: float = 180) -> int:
    """A first model for every product, through the jobs API; returns jobs run."""
    clients = {
        u.name: httpx.AsyncClient(base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {u.token}"})
        for u in users
    }
    try:
        pending: list[tuple[str, str]] = []
        for u in users:
            for sku in u.products:
                r = await clients[u.name].post(f"/api/tasks/training/product/{sku}")
                r.raise_for_status()
                pending.append((u.name, r.json()["task_id"]))
        total = len(pending)
        deadline = asyncio.get_running_loop().time() + timeout
        while pending:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{len(pending)} seed training jobs did not finish in {timeout}s")
            await asyncio.sleep(1.0)
            still = []
            for name, task_id in pending:
                r = await clients[name].get(f"/api/tasks/{task_id}")
                if r.status_code == 202:
                    still.append((name, task_id))
                elif r.status_code != 200 or r.json()["status"] != "SUCCESS":
                    raise RuntimeError(f"seed training {task_id}: {r.status_code} {r.text}")
            pending = still
        return total
    finally:
        for c in clients.values():
            await c.aclose()
