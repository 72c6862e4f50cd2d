"""The stock ledger: every change of `products.stock` is a `stock_movements`
row written in the same statement as the change (so in the same transaction).

This module is the one home of stock changes. Other code changes stock only
through it, inside its own transaction:

    from siprems.inventory import ledger
    async with transaction(pool) as cur:
        ...
        moved = await ledger.record_movements(
            cur, store_id, user_id, "receipt", [(product_id, +12)], reference=f"po:{po_id}"
        )

`record_movements` applies the deltas and writes the rows in ONE statement
(one round trip); a delta that would take stock below zero raises Conflict
(`insufficient_stock`) and the caller's transaction rolls back. `set_counts`
does the same for counted quantities (a stocktake). Code that already changes
stock in a statement of its own (the checkout's decrement + sale lines) embeds
`insert_sql()` as a CTE of that statement instead, so the hot path keeps its
round trips. Invariant: stock = Σ delta over the product's movements (the
`opening` movement carries the balance a product started with); balance_after
is the stock right after the movement. No Sanic imports.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

import psycopg2.errors

from siprems.catalog import read as catalog
from siprems.db import Pool, fetch_all, transaction
from siprems.errors import Conflict
from siprems.pages import Page

Kind = Literal["opening", "sale", "import", "adjustment", "stocktake", "receipt", "return"]
KINDS: tuple[Kind, ...] = get_args(Kind)
MAX_REASON = 500

MOVEMENT_COLUMNS = "movement_id, product_id, kind, delta, balance_after, user_id, reference, reason, created_at"


def insert_sql(select: str) -> str:
    """`INSERT INTO stock_movements` fed by `select`, a SELECT yielding
    (product_id, delta, balance_after, reference) per changed product, for a
    CTE of a caller's own statement. Its parameters come from `params()`."""
    return f"""INSERT INTO stock_movements (store_id, product_id, kind, delta, balance_after, user_id,
                                            reference, reason)
    SELECT %(store)s, m.product_id, %(mv_kind)s, m.delta, m.balance_after, %(mv_user)s, m.reference, %(mv_reason)s
      FROM ({select}) AS m(product_id, delta, balance_after, reference)
    RETURNING {MOVEMENT_COLUMNS}"""


# Opening movements for products written outside the ledger (the demo loader's
# bulk INSERT): each product's current stock becomes its opening balance.
OPENING_FOR_STORE = """INSERT INTO stock_movements
       (store_id, product_id, kind, delta, balance_after, reference, created_at)
SELECT store_id, product_id, 'opening', stock, stock, %s, created_at FROM products
 WHERE store_id = %s AND NOT EXISTS (SELECT 1 FROM stock_movements m WHERE m.product_id = products.product_id)"""


def params(store_id: int, user_id: int | None, kind: str, reason: str | None = None) -> dict[str, Any]:
    if kind not in KINDS:
        raise ValueError(f"unknown stock movement kind {kind!r}")
    return {"store": store_id, "mv_user": user_id, "mv_kind": kind, "mv_reason": reason}


_APPLY = f"""
WITH d AS (SELECT * FROM unnest(%(mv_ids)s::bigint[], %(mv_deltas)s::int[]) AS d(product_id, delta)),
changed AS (
    UPDATE products p SET stock = p.stock + d.delta, updated_at = now()
      FROM d
     WHERE p.store_id = %(store)s AND p.product_id = d.product_id
    RETURNING p.product_id, d.delta, p.stock AS balance_after
)
{insert_sql("SELECT product_id, delta, balance_after, %(mv_ref)s::text FROM changed")}
"""


def _merged(changes: Iterable[tuple[int, int]]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for product_id, delta in changes:
        merged[product_id] = merged.get(product_id, 0) + delta
    return merged


async def record_movements(
    cur: Any,
    store_id: int,
    user_id: int | None,
    kind: str,
    changes: Iterable[tuple[int, int]],
    *,
    reference: str | None = None,
    reason: str | None = None,
    keep_zero: bool = False,
) -> list[dict[str, Any]]:
    """Apply `(product_id, delta)` changes to the store's products and record
    one movement each (repeated products are summed; zero deltas are skipped
    unless `keep_zero`, which a stocktake uses to record a count that matched).
    `cur` must be inside the caller's transaction. Returns the movements;
    a product of another store is silently not changed (check before)."""
    merged = {pid: delta for pid, delta in _merged(changes).items() if delta != 0 or keep_zero}
    if not merged:
        return []
    p = params(store_id, user_id, kind, reason)
    p.update({"mv_ids": list(merged), "mv_deltas": list(merged.values()), "mv_ref": reference})
    try:
        await cur.execute(_APPLY, p)
    except psycopg2.errors.CheckViolation as exc:  # products.stock >= 0
        raise Conflict("Stock would go below zero; nothing was changed.", code="insufficient_stock") from exc
    return [dict(row) for row in await cur.fetchall()]


_LOCK = """SELECT product_id, sku, name, stock FROM products
            WHERE store_id = %s AND product_id = ANY(%s::bigint[]) ORDER BY product_id FOR NO KEY UPDATE"""


async def set_counts(
    cur: Any,
    store_id: int,
    user_id: int | None,
    counts: Iterable[tuple[int, int]],
    *,
    kind: str = "stocktake",
    reference: str | None = None,
    reason: str | None = None,
) -> list[dict[str, Any]]:
    """Set products to counted quantities (delta = counted - current, taken
    under a row lock so concurrent sales cannot slip between); every count is
    recorded, a matching one with delta 0."""
    wanted = dict(counts)
    await cur.execute(_LOCK, (store_id, list(wanted)))
    current = {row["product_id"]: row["stock"] for row in await cur.fetchall()}
    changes = [(pid, counted - current[pid]) for pid, counted in wanted.items() if pid in current]
    return await record_movements(
        cur, store_id, user_id, kind, changes, reference=reference, reason=reason, keep_zero=True
    )


@dataclass(frozen=True)
class Adjustment:
    sku: str
    delta: int | None = None  # exactly one of delta / counted
    counted: int | None = None
    reason: str = ""


@dataclass
class Movement:
    movement_id: int
    sku: str
    product_name: str
    kind: Kind
    delta: int
    balance_after: int
    user_id: int | None
    user_email: str | None
    reference: str | None
    reason: str | None
    created_at: datetime


async def adjust(pool: Pool, store_id: int, user_id: int | None, change: Adjustment) -> Movement:
    """An `adjustment` by delta or a `stocktake` to a counted quantity, for one
    product by SKU. 404 for an unknown SKU; 409 when a delta would take stock
    below zero (the body names `available` and `requested`)."""
    async with transaction(pool) as cur:
        await cur.execute(
            """SELECT product_id, sku, name, stock, (SELECT email FROM users WHERE user_id = %s) AS user_email
                 FROM products WHERE store_id = %s AND sku = %s FOR NO KEY UPDATE""",
            (user_id, store_id, change.sku),
        )
        product = await cur.fetchone()
        if product is None:
            raise catalog.not_found(change.sku)
        pid = product["product_id"]
        if change.counted is not None:
            delta, kind = change.counted - product["stock"], "stocktake"
        else:
            delta, kind = change.delta or 0, "adjustment"
        if product["stock"] + delta < 0:
            raise Conflict(
                f"Insufficient stock for {product['name']} ({change.sku}): available {product['stock']}, "
                f"adjustment {delta}.",
                code="insufficient_stock",
                extra={"product_sku": change.sku, "available": product["stock"], "requested": -delta},
            )
        moved = await record_movements(
            cur, store_id, user_id, kind, [(pid, delta)], reference=None, reason=change.reason, keep_zero=True
        )
    row = {name: value for name, value in moved[0].items() if name != "product_id"}
    return Movement(**row, sku=product["sku"], product_name=product["name"], user_email=product["user_email"])


@dataclass(frozen=True)
class MovementQuery:
    sku: str | None = None
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive
    reason: str | None = None  # a kind name, or else words of the free-text reason
    limit: int = 100
    offset: int = 0


async def list_movements(pool: Pool, store_id: int, q: MovementQuery) -> Page[Movement]:
    """Newest first; each item names its SKU, product and the user's email."""
    where = ["m.store_id = %(store)s"]
    args: dict[str, Any] = {"store": store_id, "limit": q.limit, "offset": q.offset}
    if q.sku is not None:
        where.append("p.sku = %(sku)s")
        args["sku"] = q.sku
    if q.start is not None:
        where.append("m.created_at >= %(start)s")
        args["start"] = q.start
    if q.end is not None:
        where.append("m.created_at < %(end)s")
        args["end"] = q.end
    if q.reason in KINDS:
        where.append("m.kind = %(reason)s")
        args["reason"] = q.reason
    elif q.reason:
        where.append("m.reason ILIKE %(reason)s")
        escaped = q.reason.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        args["reason"] = f"%{escaped}%"
    rows = await fetch_all(
        pool,
        f"""SELECT m.movement_id, p.sku, p.name AS product_name, m.kind, m.delta, m.balance_after, m.user_id,
                   u.email AS user_email, m.reference, m.reason, m.created_at, count(*) OVER () AS total_count
              FROM stock_movements m
              JOIN products p ON p.product_id = m.product_id
              LEFT JOIN users u ON u.user_id = m.user_id
             WHERE {" AND ".join(where)}
             ORDER BY m.created_at DESC, m.movement_id DESC LIMIT %(limit)s OFFSET %(offset)s""",
        args,
    )
    total = rows[0]["total_count"] if rows else 0
    if not rows and q.offset:
        count = await fetch_all(
            pool,
            f"""SELECT count(*) AS n FROM stock_movements m JOIN products p ON p.product_id = m.product_id
                 WHERE {" AND ".join(where)}""",
            args,
        )
        total = count[0]["n"]
    for row in rows:
        row.pop("total_count")
    return Page([Movement(**row) for row in rows], total, q.limit, q.offset)


_STOCKOUTS = """
WITH m AS (
    SELECT product_id, created_at, movement_id, balance_after = 0 AS out,
           lag(balance_after = 0) OVER (PARTITION BY product_id ORDER BY created_at, movement_id) AS was_out
      FROM stock_movements
     WHERE store_id = %(store)s AND (%(ids)s::bigint[] IS NULL OR product_id = ANY(%(ids)s::bigint[]))
       AND created_at < %(end)s
),
edges AS (  -- the movements where a product runs out or comes back
    SELECT product_id, created_at, movement_id, out FROM m WHERE out IS DISTINCT FROM COALESCE(was_out, FALSE)
),
spans AS (
    SELECT product_id, out, created_at AS started,
           lead(created_at) OVER (PARTITION BY product_id ORDER BY created_at, movement_id) AS ended
      FROM edges
)
SELECT product_id, greatest(started, %(start)s) AS started, ended
  FROM spans
 WHERE out AND (ended IS NULL OR ended > %(start)s)
 ORDER BY product_id, started
"""


async def stockout_intervals(
    pool: Pool, store_id: int, start: datetime, end: datetime, product_ids: list[int] | None = None
) -> dict[int, list[tuple[datetime, datetime | None]]]:
    """Per product, the intervals [ran out, restocked) during which its stock
    was zero, overlapping [start, end): `ended` is None while still out of
    stock (or when the restock came at or after `end`); `started` is clipped
    to `start`. For forecasting: demand on those days is censored, not zero."""
    rows = await fetch_all(pool, _STOCKOUTS, {"store": store_id, "ids": product_ids, "start": start, "end": end})
    found: dict[int, list[tuple[datetime, datetime | None]]] = {}
    for row in rows:
        ended = row["ended"] if row["ended"] is not None and row["ended"] < end else None
        found.setdefault(row["product_id"], []).append((row["started"], ended))
    return found
