"""What the stack promised, checked against PostgreSQL, the queue Redis and
the API after each fault (with the traffic paused):

* every acknowledged checkout is in PostgreSQL exactly once (by its
  Idempotency-Key and checkout_id, line for line), no checkout exists that no
  client caused, and stock = initial stock - sales (never negative);
* every accepted job finished (SUCCESS, one model per training run, unless
  KEEP_VERSIONS newer versions of its product have since pruned it) or was
  dead-lettered with a reason; none is missing or stuck;
* every acknowledged chat turn is in the session's history, once, with its answer;
* every scheduled occurrence (one a second) was enqueued and ran once;
* cached reads show what PostgreSQL holds (no stale cache entry outlives the fault).

A problem is reported at the first checkpoint that sees it; later checkpoints
count it as known (a lost chat turn stays lost) and fail only on new ones.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

import httpx

from chaos import plugin
from siprems import keys
from siprems.forecasting import registry
from siprems.jobs.registry import QUEUES

JOB_WAIT = 90.0  # s the check waits for accepted jobs to finish
TICK_LAG = 2  # s: the newest occurrences may not be enqueued yet


@dataclass
class Result:
    name: str
    ok: bool
    detail: str
    problems: list[str] | None = None  # keys of what is wrong, to tell new problems from known ones


def _short(items, n: int = 5) -> str:
    items = list(items)
    return ", ".join(map(str, items[:n])) + (f" (+{len(items) - n} more)" if len(items) > n else "")


def checkouts(pg, users, ledger) -> Result:
    stores = {u.name: u.store_id for u in users}
    with pg.cursor() as cur:
        cur.execute("SELECT store_id, sku, stock FROM products WHERE store_id = ANY(%s)", (list(stores.values()),))
        stock = {(r["store_id"], r["sku"]): r["stock"] for r in cur.fetchall()}
        cur.execute(
            """SELECT t.checkout_id::text AS cid, p.sku, sum(t.quantity_sold) AS qty, count(*) AS rows
                         FROM transactions t JOIN products p ON p.product_id = t.product_id
                        WHERE t.store_id = ANY(%s) AND t.checkout_id IS NOT NULL
                        GROUP BY 1, 2""",
            (list(stores.values()),),
        )
        lines: dict[str, dict[str, int]] = defaultdict(dict)
        doubled = []
        for r in cur.fetchall():
            lines[r["cid"]][r["sku"]] = int(r["qty"])
            if r["rows"] != 1:
                doubled.append(r["cid"])
        cur.execute(
            """SELECT key, response->>'checkout_id' AS cid FROM idempotency_keys
                        WHERE scope = 'transactions.checkout' AND store_id = ANY(%s)""",
            (list(stores.values()),),
        )
        by_key = {r["key"]: r["cid"] for r in cur.fetchall()}

    problems: list[str] = []
    explained: dict[str, tuple[str, dict[str, int]]] = {}  # checkout id -> (user, lines)
    counts = Counter(c.state for c in ledger.checkouts)
    committed_unacked = 0
    for c in ledger.checkouts:
        cid = by_key.get(c.key)
        if c.state == "sold":
            if cid != c.checkout_id:
                problems.append(f"ack'd {c.key} has key record {cid}, client saw {c.checkout_id}")
            elif lines.get(cid) != c.lines:
                problems.append(f"ack'd checkout {cid}: lines {lines.get(cid)} != {c.lines}")
            explained[c.checkout_id] = (c.user, c.lines)
        elif c.state == "no_sale" and cid is not None:
            problems.append(f"409 checkout {c.key} was recorded as {cid}")
        elif c.state in ("unresolved", "pending") and cid is not None:
            committed_unacked += 1  # a sale the client never heard of: counted, it is real
            explained[cid] = (c.user, lines.get(cid, {}))
    phantom = set(lines) - set(explained)
    if phantom:
        problems.append(f"{len(phantom)} checkouts in PostgreSQL no client acknowledged: {_short(phantom)}")
    if doubled:
        problems.append(f"checkouts with a product line twice: {_short(doubled)}")
    sold: Counter = Counter()
    for user, items in explained.values():
        for sku, qty in items.items():
            sold[(stores[user], sku)] += qty
    for u in users:
        for sku, initial in u.products.items():
            have = stock[(u.store_id, sku)]
            if have < 0 or have != initial - sold[(u.store_id, sku)]:
                problems.append(f"{sku}: stock {have}, expected {initial} - {sold[(u.store_id, sku)]}")
    detail = (
        f"{counts['sold']} sold, {counts['no_sale']} refused (409), {counts['unresolved']} unresolved "
        f"({committed_unacked} of them committed)"
    )
    return Result(
        "checkouts once, stock exact",
        not problems,
        detail + ("; " + "; ".join(problems[:5]) if problems else ""),
        problems,
    )


def _dead_lettered(q) -> dict[str, str]:
    """job id -> reason, from every queue's dead-letter stream."""
    found = {}
    for queue in QUEUES:
        for _, fields in q.xrange(keys.job_dead_letters(queue)):
            found[fields.get("job_id", "")] = fields.get("reason", "") or fields.get("error", "")
    return found


def _pruned(record: dict, newest: dict[int, int]) -> bool:
    """A training run's model left the registry by design: the job's result names its version, and
    the product has since stored KEEP_VERSIONS newer ones (registry.save keeps only the last ones)."""
    try:
        result = json.loads(record.get("result") or "null") or {}
        product_id, version = int(result["product_id"]), int(result["version"])
    except (ValueError, KeyError, TypeError):
        return False
    return newest.get(product_id, 0) - version >= registry.KEEP_VERSIONS


async def jobs(stack, ledger) -> Result:
    q = stack.queue_client()
    try:
        ids = list(ledger.jobs)
        deadline = time.monotonic() + JOB_WAIT
        while True:
            states = {i: q.hgetall(keys.job_record(i)) for i in ids}
            unfinished = [i for i, h in states.items() if h.get("state") not in ("SUCCESS", "FAILURE", "REVOKED")]
            if not unfinished or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        dead = _dead_lettered(q)
    finally:
        q.close()
    lost = [i for i, h in states.items() if not h]
    stuck = [i for i in unfinished if i not in lost]
    failed = {i: h for i, h in states.items() if h.get("state") == "FAILURE"}
    silent = [i for i in failed if i not in dead or not failed[i].get("error")]
    succeeded = [i for i, h in states.items() if h.get("state") == "SUCCESS"]
    with stack.pg() as pg, pg.cursor() as cur:
        cur.execute(
            "SELECT training_run_id, count(*) AS n FROM forecast_models WHERE training_run_id = ANY(%s) GROUP BY 1",
            (succeeded,),
        )
        models = {r["training_run_id"]: r["n"] for r in cur.fetchall()}
        cur.execute("SELECT product_id, max(version) AS v FROM forecast_models GROUP BY 1")
        newest = {r["product_id"]: r["v"] for r in cur.fetchall()}
    pruned = [i for i in succeeded if models.get(i) is None and _pruned(states[i], newest)]
    no_model = [i for i in succeeded if models.get(i) != 1 and i not in pruned]
    problems = []
    if lost:
        problems.append(f"{len(lost)} accepted jobs have no record: {_short(lost)}")
    if stuck:
        problems.append(f"{len(stuck)} not finished after {JOB_WAIT:.0f}s: {_short(stuck)}")
    if silent:
        problems.append(f"{len(silent)} failed without a dead letter and reason: {_short(silent)}")
    if no_model:
        problems.append(f"{len(no_model)} succeeded without exactly one model: {_short(no_model)}")
    for i, h in states.items():
        ledger.jobs[i].state = h.get("state", "MISSING")
    retried = sum(1 for h in states.values() if int(h.get("attempts") or 0) > 1)
    detail = (
        f"{len(ids)} accepted: {len(succeeded)} SUCCESS, {len(failed)} dead-lettered, {retried} ran more than once, "
        f"{len(pruned)} models since pruned (over {registry.KEEP_VERSIONS} newer versions)"
    )
    keys_ = (
        [f"lost {i}" for i in lost]
        + [f"stuck {i}" for i in stuck]
        + [f"silent {i}" for i in silent]
        + [f"no model {i}" for i in no_model]
    )
    return Result(
        "jobs finished or dead-lettered", not problems, detail + ("; " + "; ".join(problems) if problems else ""), keys_
    )


async def chat(base_url: str, users, ledger) -> Result:
    problems, total, keys_ = [], 0, []
    async with httpx.AsyncClient(base_url=base_url, timeout=15) as http:
        for u in users:
            acked = ledger.chat_acked.get(u.name, [])
            total += len(acked)
            r = await http.get(f"/api/chat/history/{u.session_id}", headers={"Authorization": f"Bearer {u.token}"})
            if r.status_code == 404 and not acked:
                continue
            if r.status_code != 200:
                problems.append(f"{u.name}: history answered {r.status_code}")
                keys_.append(f"history {u.name} {r.status_code}")
                continue
            history = r.json()["history"]
            questions = Counter(m["parts"][0] for m in history if m["role"] == "user")
            answered = {
                history[i]["parts"][0]
                for i in range(len(history) - 1)
                if history[i]["role"] == "user" and history[i + 1]["role"] == "model"
            }
            lost = [q for q in acked if questions[q] == 0]
            twice = [q for q in acked if questions[q] > 1]
            unanswered = [q for q in acked if questions[q] and q not in answered]
            keys_ += (
                [f"lost {q}" for q in lost] + [f"twice {q}" for q in twice] + [f"unanswered {q}" for q in unanswered]
            )
            if lost:
                problems.append(f"{u.name}: {len(lost)} of {len(acked)} acknowledged turns lost")
            if twice or unanswered:
                problems.append(f"{u.name}: {len(twice)} turns twice, {len(unanswered)} without their answer")
    detail = f"{total} acknowledged turns, {ledger.chat_unsaved} answered unsaved (X-Chat-History: unavailable)"
    return Result(
        "acknowledged chat turns kept",
        not problems,
        detail + ("; " + "; ".join(problems[:3]) + (" ..." if len(problems) > 3 else "") if problems else ""),
        keys_,
    )


async def ticks(stack, since_wall: float) -> Result:
    """Every second in [since, now - TICK_LAG] fired exactly one job, and it ran
    (occurrences still retrying are waited for, like accepted jobs)."""
    end = int(time.time()) - TICK_LAG
    start = int(since_wall) + 2
    if end <= start:
        return Result("scheduled occurrences once", True, "window too short yet")

    def ran() -> dict[int, int]:
        with stack.pg() as pg, pg.cursor() as cur:
            cur.execute("SELECT fire_ts, runs FROM chaos_ticks WHERE fire_ts BETWEEN %s AND %s", (start, end))
            return {r["fire_ts"]: r["runs"] for r in cur.fetchall()}

    q = stack.queue_client()
    try:
        deadline = time.monotonic() + JOB_WAIT
        while True:
            runs = ran()
            missing = [t for t in range(start, end + 1) if t not in runs]
            states = {t: q.hget(keys.job_record(plugin.job_id(t)), "state") for t in missing}
            if not any(st in ("PENDING", "STARTED", "RETRY") for st in states.values()) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        dead = _dead_lettered(q) if missing else {}
    finally:
        q.close()
    dead_lettered = [t for t in missing if plugin.job_id(t) in dead]
    lost = [t for t in missing if t not in dead_lettered]
    rerun = [t for t, n in runs.items() if n > 1]
    problems = []
    if lost:
        problems.append(f"{len(lost)} occurrences never ran: {_short((t, states[t]) for t in lost)}")
    if dead_lettered:
        problems.append(f"{len(dead_lettered)} occurrences dead-lettered")
    # Ran twice = redelivered after a worker died (at least once, by design); the
    # id is per occurrence, so it cannot have been enqueued twice. Reported only.
    detail = f"{end - start + 1} occurrences ({start}..{end}), {len(runs)} ran, {len(rerun)} re-ran after redelivery"
    return Result(
        "scheduled occurrences once",
        not problems,
        detail + ("; " + "; ".join(problems) if problems else ""),
        [f"tick {t}" for t in missing],
    )


async def reads_fresh(stack, users) -> Result:
    """The cached product list of every shop shows the stock PostgreSQL has."""
    with stack.pg() as pg, pg.cursor() as cur:
        cur.execute(
            "SELECT store_id, sku, stock FROM products WHERE store_id = ANY(%s)", ([u.store_id for u in users],)
        )
        truth = {(r["store_id"], r["sku"]): r["stock"] for r in cur.fetchall()}
    stale = []
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=15) as http:
        for u in users:
            r = await http.get("/api/products/", headers={"Authorization": f"Bearer {u.token}"})
            if r.status_code != 200:
                stale.append(f"{u.name}: list answered {r.status_code}")
                continue
            stale += [
                f"{p['sku']}: list says {p['stock']}, PostgreSQL {truth[(u.store_id, p['sku'])]}"
                for p in r.json()
                if p["stock"] != truth.get((u.store_id, p["sku"]))
            ]
    return Result(
        "cached reads fresh",
        not stale,
        f"{len(truth)} products compared" + (f"; {len(stale)} stale: {_short(stale, 3)}" if stale else ""),
        stale,
    )


async def check_all(stack, users, ledger, sched_since_wall: float) -> list[Result]:
    with stack.pg() as pg:
        results = [checkouts(pg, users, ledger)]
    results.append(await jobs(stack, ledger))
    results.append(await chat(stack.base_url, users, ledger))
    results.append(await ticks(stack, sched_since_wall))
    results.append(await reads_fresh(stack, users))
    return results
