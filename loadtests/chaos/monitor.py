"""Watching the stack from outside: `/ready` of each API instance (directly,
so HAProxy's rate limits and routing do not blur it), HAProxy's view of its
servers, and "full recovery": both instances ready with every dependency ok,
both in rotation, and a canary user's requests (one per dependency) succeeding
through HAProxy."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

READY_EVERY = 0.5  # s between /ready probes of one instance
CANARY = ("/api/auth/profile", "/api/chat/sessions", "/api/tasks/active")  # PostgreSQL, cache Redis, queue Redis


@dataclass
class ReadyProbe:
    t0: float
    t1: float
    instance: str
    status: int | str
    down: tuple[str, ...] = ()
    json_ok: bool = True


class Monitor:
    def __init__(self, stack, canary_token: str):
        self.stack = stack
        self.instances = {"api1": stack.ports.api[0], "api2": stack.ports.api[1]}
        self.probes: list[ReadyProbe] = []
        self.http = httpx.AsyncClient(timeout=5)
        self.canary = httpx.AsyncClient(
            base_url=stack.base_url, timeout=5, headers={"Authorization": f"Bearer {canary_token}"}
        )
        self._task: asyncio.Task | None = None
        self._canary_at = 0.0

    # -- /ready, continuously ----------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.http.aclose()
        await self.canary.aclose()

    async def _watch(self) -> None:
        while True:
            await asyncio.gather(*(self.probe(name) for name in self.instances))
            await asyncio.sleep(READY_EVERY)

    async def probe(self, name: str) -> ReadyProbe:
        t0 = time.monotonic()
        try:
            r = await self.http.get(f"http://127.0.0.1:{self.instances[name]}/ready")
            try:
                body = r.json()
                down, json_ok = tuple(body.get("down", ())), True
                if r.status_code != 200:
                    json_ok = bool(body.get("error")) and bool(body.get("message"))
            except ValueError:
                down, json_ok = (), False
            p = ReadyProbe(t0, time.monotonic(), name, r.status_code, down, json_ok)
        except httpx.TimeoutException:
            p = ReadyProbe(t0, time.monotonic(), name, "timeout")
        except httpx.TransportError:
            p = ReadyProbe(t0, time.monotonic(), name, "conn")
        self.probes.append(p)
        return p

    def probes_between(self, start: float, end: float) -> list[ReadyProbe]:
        return [p for p in self.probes if start <= p.t0 <= end]

    # -- HAProxy -----------------------------------------------------------------------------
    async def rotation(self) -> dict[str, str]:
        """{"api1": "UP", "api2": "DOWN"}: HAProxy's state of each API server."""
        r = await self.http.get(f"http://127.0.0.1:{self.stack.ports.stats}/stats;csv")
        lines = r.text.splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
        return {
            row["svname"]: row["status"]
            for row in rows
            if row["pxname"] == "be_api" and row["svname"] not in ("BACKEND", "FRONTEND")
        }

    async def wait_rotation(self, name: str, state: str, timeout: float = 20) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            try:
                if (await self.rotation()).get(name, "").startswith(state):
                    return time.monotonic() - start
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
        raise TimeoutError(f"HAProxy did not mark {name} {state} within {timeout}s")

    async def wait_ready(self, name: str, since: float, timeout: float = 60) -> float | None:
        """Seconds from `since` until the instance's own /ready first answers 200 (polled
        every 0.1 s); None if not within `timeout`."""
        while time.monotonic() - since < timeout:
            probe = await self.probe(name)
            if probe.status == 200:
                return probe.t1 - since
            await asyncio.sleep(0.1)
        return None

    # -- full recovery ----------------------------------------------------------------------
    async def healthy(self) -> bool:
        try:
            ready = await asyncio.gather(*(self.probe(name) for name in self.instances))
            if any(p.status != 200 for p in ready):
                return False
            if set((await self.rotation()).values()) != {"UP"}:
                return False
            # At most two canary rounds a second: its own rate limit must never be what fails it.
            await asyncio.sleep(max(0.0, self._canary_at + 0.5 - time.monotonic()))
            self._canary_at = time.monotonic()
            answers = await asyncio.gather(*(self.canary.get(path) for path in CANARY))
            return all(r.status_code == 200 for r in answers)
        except httpx.HTTPError:
            return False

    async def wait_recovered(self, since: float, timeout: float = 60, extra=None) -> float | None:
        """Seconds from `since` until the stack is fully healthy (and `extra()`,
        an async predicate, holds); None if not within `timeout`."""
        while time.monotonic() - since < timeout:
            if await self.healthy() and (extra is None or await extra()):
                return time.monotonic() - since
            await asyncio.sleep(0.2)
        return None
