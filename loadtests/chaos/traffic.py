"""Steady mixed traffic through HAProxy, and a ledger of what the stack
acknowledged (the invariants are checked against it).

Each shop user runs five bounded loops on one httpx client: checkouts (an
Idempotency-Key per cart, retried with the same key on network errors, 5xx,
429 and timeouts until a definitive answer), reads, predictions, chat turns on
one session, and training jobs (submitted with a key, then polled). Every
HTTP attempt becomes a `Sample`; `gate` pauses new operations so the checks
see a quiet system.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field

import httpx

CLIENT_TIMEOUT = 15.0  # s; above the app's own bounds (db 10 s), so a hang shows up as slow, not as ours
RETRY_BUDGET = 90.0  # s a checkout or a submission keeps retrying before it is "unresolved"
READS = (
    "/api/products/",
    "/api/products/stats",
    "/api/dashboard/metrics",
    "/api/dashboard-stats",
    "/api/events",
    "/api/transactions?limit=20",
)
FINISHED = {"SUCCESS", "FAILURE", "REVOKED"}


@dataclass
class Sample:
    t0: float
    t1: float
    user: str
    kind: str
    status: int | str  # HTTP status, or "timeout" / "conn" / an exception name
    code: str = ""  # the JSON body's "error" code, if any
    json_error_body: bool = True  # an error answer was JSON {"error", "message"}
    detail: str = ""  # the exception, for network errors

    @property
    def error(self) -> bool:
        if isinstance(self.status, str):
            return True
        if self.status == 409 and self.kind == "checkout" and self.code == "insufficient_stock":
            return False  # a definitive "no sale": stock is protected
        return self.status >= 400


@dataclass
class Checkout:
    user: str
    key: str
    lines: dict[str, int]
    state: str = "pending"  # sold | no_sale | unresolved
    checkout_id: str | None = None


@dataclass
class Job:
    user: str
    task_id: str
    sku: str
    accepted_at: float
    state: str = "PENDING"


@dataclass
class Ledger:
    checkouts: list[Checkout] = field(default_factory=list)
    chat_acked: dict[str, list[str]] = field(default_factory=dict)  # user -> questions acknowledged
    chat_unsaved: int = 0  # answered with X-Chat-History: unavailable (not acknowledged as saved)
    jobs: dict[str, Job] = field(default_factory=dict)


class Recorder:
    def __init__(self):
        self.samples: list[Sample] = []

    def between(self, start: float, end: float, users: set[str] | None = None) -> list[Sample]:
        return [s for s in self.samples if start <= s.t0 <= end and (users is None or s.user in users)]


async def call(
    http: httpx.AsyncClient, rec: Recorder | None, user: str, kind: str, method: str, path: str, **kw
) -> tuple[httpx.Response | None, Sample]:
    t0 = time.monotonic()
    resp, detail = None, ""
    try:
        resp = await http.request(method, path, **kw)
        status, code, json_ok = resp.status_code, "", True
        if status >= 400:
            try:
                body = resp.json()
                code = str(body.get("error", ""))
                json_ok = bool(body.get("error")) and bool(body.get("message"))
            except ValueError:
                json_ok = False
    except httpx.TimeoutException as exc:
        status, code, json_ok, detail = "timeout", "", True, repr(exc)
    except httpx.TransportError as exc:
        status, code, json_ok, detail = "conn", "", True, repr(exc)
    sample = Sample(t0, time.monotonic(), user, kind, status, code, json_ok, detail)
    if rec is not None:
        rec.samples.append(sample)
    return resp, sample


def retry_delay(resp: httpx.Response | None, attempt: int) -> float:
    if resp is not None and resp.headers.get("retry-after", "").isdigit():
        return min(5.0, float(resp.headers["retry-after"]))
    return min(2.0, 0.2 * 2**attempt) * random.uniform(0.5, 1.0)


@dataclass
class ShopUser:
    name: str
    user_id: int
    store_id: int
    token: str
    session_id: str
    products: dict[str, int]  # sku -> initial stock
    http: httpx.AsyncClient | None = None


class Traffic:
    """The users' loops; `gate` (set = running) pauses new operations."""

    def __init__(self, base_url: str, users: list[ShopUser], rec: Recorder, ledger: Ledger, seed: int = 7):
        self.base_url = base_url
        self.users = users
        self.rec = rec
        self.ledger = ledger
        self.rng = random.Random(seed)
        self.gate = asyncio.Event()
        self.gate.set()
        self.stopping = asyncio.Event()
        self.inflight = 0
        self.tasks: list[asyncio.Task] = []
        self.turns = 0

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        for u in self.users:
            u.http = httpx.AsyncClient(
                base_url=self.base_url, timeout=CLIENT_TIMEOUT, headers={"Authorization": f"Bearer {u.token}"}
            )
            self.ledger.chat_acked.setdefault(u.name, [])
            for loop in (self._checkouts, self._reads, self._predictions, self._chat, self._training, self._polls):
                self.tasks.append(asyncio.create_task(loop(u)))

    async def stop(self) -> None:
        self.stopping.set()
        self.gate.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for u in self.users:
            await u.http.aclose()

    async def quiesce(self, timeout: float = RETRY_BUDGET + 30) -> None:
        """Stop starting operations and wait for those running (retries included)."""
        self.gate.clear()
        deadline = time.monotonic() + timeout
        while self.inflight and time.monotonic() < deadline:
            await asyncio.sleep(0.1)

    def resume(self) -> None:
        self.gate.set()

    async def _op(self, u: ShopUser, delay: tuple[float, float]) -> bool:
        """Wait a random think time, then for the gate; False once stopping."""
        try:
            await asyncio.wait_for(self.stopping.wait(), self.rng.uniform(*delay))
            return False
        except TimeoutError:
            pass
        await self.gate.wait()
        return not self.stopping.is_set()

    async def _guarded(self, coro) -> None:
        self.inflight += 1
        try:
            await coro
        finally:
            self.inflight -= 1

    # -- loops -----------------------------------------------------------------------
    async def _checkouts(self, u: ShopUser) -> None:
        while await self._op(u, (0.6, 1.4)):
            skus = self.rng.sample(sorted(u.products), self.rng.choice((1, 1, 2)))
            lines = {sku: self.rng.randint(1, 3) for sku in skus}
            await self._guarded(self.checkout(u, lines))

    async def checkout(self, u: ShopUser, lines: dict[str, int]) -> Checkout:
        c = Checkout(u.name, f"chaos-{uuid.uuid4().hex}", lines)
        self.ledger.checkouts.append(c)
        body = {"items": [{"product_id": sku, "quantity": q} for sku, q in lines.items()]}
        deadline = time.monotonic() + RETRY_BUDGET
        attempt = 0
        while True:
            resp, s = await call(
                u.http,
                self.rec,
                u.name,
                "checkout",
                "POST",
                "/api/transactions/checkout",
                json=body,
                headers={"Idempotency-Key": c.key},
            )
            if s.status == 201:
                c.state, c.checkout_id = "sold", resp.json()["checkout_id"]
                return c
            if s.status == 409 and s.code == "insufficient_stock":
                c.state = "no_sale"
                return c
            retryable = (
                isinstance(s.status, str) or s.status >= 500 or s.status == 429 or s.code == "idempotency_key_busy"
            )
            if not retryable or time.monotonic() > deadline:
                c.state = "unresolved"
                return c
            await asyncio.sleep(retry_delay(resp, attempt))
            attempt += 1

    async def _reads(self, u: ShopUser) -> None:
        while await self._op(u, (0.3, 0.7)):
            await self._guarded(call(u.http, self.rec, u.name, "read", "GET", self.rng.choice(READS)))

    async def _predictions(self, u: ShopUser) -> None:
        while await self._op(u, (2.0, 4.0)):
            sku = self.rng.choice(sorted(u.products))
            await self._guarded(
                call(u.http, self.rec, u.name, "predict", "POST", "/api/predict/", json={"product_sku": sku, "days": 7})
            )

    async def _chat(self, u: ShopUser) -> None:
        while await self._op(u, (1.5, 3.5)):
            await self._guarded(self._turn(u))

    async def _turn(self, u: ShopUser) -> None:
        self.turns += 1
        sku = self.rng.choice(sorted(u.products))
        question = f"How much stock of {sku} do I have left? (turn {self.turns})"
        resp, s = await call(
            u.http,
            self.rec,
            u.name,
            "chat",
            "POST",
            "/api/chat",
            json={"message": question, "session_id": u.session_id},
        )
        if s.status == 200:
            if resp.headers.get("x-chat-history") == "unavailable":
                self.ledger.chat_unsaved += 1
            else:
                self.ledger.chat_acked[u.name].append(question)

    async def _training(self, u: ShopUser) -> None:
        while await self._op(u, (20.0, 40.0)):
            await self._guarded(self.submit_training(u, self.rng.choice(sorted(u.products))))

    async def submit_training(self, u: ShopUser, sku: str) -> Job | None:
        key = f"chaos-train-{uuid.uuid4().hex}"
        deadline = time.monotonic() + RETRY_BUDGET
        attempt = 0
        while True:
            resp, s = await call(
                u.http,
                self.rec,
                u.name,
                "train",
                "POST",
                f"/api/tasks/training/product/{sku}",
                headers={"Idempotency-Key": key},
            )
            if s.status == 202:
                job = Job(u.name, resp.json()["task_id"], sku, time.monotonic())
                self.ledger.jobs.setdefault(job.task_id, job)
                return job
            retryable = isinstance(s.status, str) or s.status >= 500 or s.status == 429
            if not retryable or time.monotonic() > deadline:
                return None
            await asyncio.sleep(retry_delay(resp, attempt))
            attempt += 1

    async def _polls(self, u: ShopUser) -> None:
        """What a client does with a task id: poll it (two per second at most)."""
        while await self._op(u, (0.8, 1.2)):
            open_jobs = [j for j in self.ledger.jobs.values() if j.user == u.name and j.state not in FINISHED]
            for job in sorted(open_jobs, key=lambda j: j.accepted_at)[:2]:
                resp, s = await call(u.http, self.rec, u.name, "poll", "GET", f"/api/tasks/{job.task_id}")
                if s.status in (200, 202):
                    job.state = resp.json().get("status", job.state)
