"""Purchase orders: drafted from the restock advice (one per supplier, pack-
rounded quantities at cost price), edited while draft, submitted (expected
date from the supplier's lead time), received in parts into stock, cancelled.

States: draft -> ordered -> partially_received -> received; draft, ordered and
partially_received may be cancelled. Any other change is a 409. Every change
locks the order row (FOR UPDATE) in one transaction."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from siprems.db import is_id, transaction
from siprems.errors import Conflict, NotFound, ValidationFailed
from siprems.jsonutil import Number
from siprems.purchasing import on_order
from siprems.purchasing.stock_in import receive_into_stock

Status = Literal["draft", "ordered", "partially_received", "received", "cancelled"]
STATUSES: tuple[Status, ...] = ("draft", "ordered", "partially_received", "received", "cancelled")
OPEN = on_order.OPEN_STATUSES  # on order: counted as incoming stock

ORDER = """o.po_id, o.supplier_id, s.name AS supplier_name, o.status, o.notes, o.expected_date,
           o.ordered_at, o.received_at, o.cancelled_at, o.created_at, o.updated_at"""
LINE = """l.line_id, p.sku AS product_sku, p.name AS product_name, l.quantity, l.quantity_received,
          l.unit_cost, p.pack_size"""


@dataclass
class OrderLine:
    line_id: int
    product_sku: str
    product_name: str
    quantity: int
    quantity_received: int
    unit_cost: Number | None
    pack_size: int


@dataclass
class PurchaseOrder:
    po_id: int
    supplier_id: int
    supplier_name: str
    status: Status
    notes: str | None
    expected_date: date | None
    ordered_at: datetime | None
    received_at: datetime | None
    cancelled_at: datetime | None
    created_at: datetime
    updated_at: datetime
    lines: list[OrderLine]
    total_cost: Number


@dataclass
class Drafted:
    orders: list[PurchaseOrder]
    without_supplier: list[str]  # SKUs to restock that have no preferred supplier


def not_found(po_id: int) -> NotFound:
    return NotFound(f"Purchase order {po_id} not found", code="purchase_order_not_found")


def _refuse(order: dict, action: str) -> Conflict:
    return Conflict(
        f"Purchase order {order['po_id']} is {order['status']}; it cannot be {action}.",
        code="invalid_state",
        extra={"status": order["status"]},
    )


def pack_round(quantity: int, pack_size: int) -> int:
    """Whole packs: the smallest multiple of pack_size >= quantity."""
    pack = max(int(pack_size or 1), 1)
    return math.ceil(quantity / pack) * pack


async def _lines(cur, po_ids: list[int]) -> dict[int, list[dict]]:
    await cur.execute(
        f"""SELECT l.po_id, {LINE} FROM purchase_order_lines l JOIN products p USING (product_id)
            WHERE l.po_id = ANY(%s) ORDER BY p.sku""",
        (po_ids,),
    )
    out: dict[int, list[dict]] = {i: [] for i in po_ids}
    for row in await cur.fetchall():
        row = dict(row)
        out[row.pop("po_id")].append(row)
    return out


def _present(order: dict, lines: list[dict]) -> PurchaseOrder:
    total = sum((line["unit_cost"] or 0) * line["quantity"] for line in lines)
    return PurchaseOrder(**order, lines=[OrderLine(**line) for line in lines], total_cost=total)


async def _load(cur, store_id: int, po_id: int, *, lock: bool = False) -> dict:
    if not is_id(po_id):
        raise not_found(po_id)
    await cur.execute(
        f"""SELECT {ORDER} FROM purchase_orders o JOIN suppliers s USING (supplier_id)
            WHERE o.store_id = %s AND o.po_id = %s {"FOR UPDATE OF o" if lock else ""}""",
        (store_id, po_id),
    )
    row = await cur.fetchone()
    if row is None:
        raise not_found(po_id)
    return dict(row)


async def _answer(cur, store_id: int, po_id: int) -> PurchaseOrder:
    order = await _load(cur, store_id, po_id)
    return _present(order, (await _lines(cur, [po_id]))[po_id])


async def get_order(pool, store_id: int, po_id: int) -> PurchaseOrder:
    async with transaction(pool) as cur:
        return await _answer(cur, store_id, po_id)


async def list_orders(pool, store_id: int, status: str | None = None) -> list[PurchaseOrder]:
    async with transaction(pool) as cur:
        await cur.execute(
            f"""SELECT {ORDER} FROM purchase_orders o JOIN suppliers s USING (supplier_id)
                WHERE o.store_id = %s AND (%s::text IS NULL OR o.status = %s) ORDER BY o.po_id DESC LIMIT 1000""",
            (store_id, status, status),
        )
        orders = [dict(r) for r in await cur.fetchall()]
        lines = await _lines(cur, [o["po_id"] for o in orders]) if orders else {}
    return [_present(o, lines[o["po_id"]]) for o in orders]


async def draft_from_advice(pool, store_id: int, advice: list[dict]) -> Drafted:
    """One draft order per supplier for the products the advice says to restock.
    `advice` rows: productId, recommendedRestock (the restock overview's)."""
    wanted = {a["productId"]: a["recommendedRestock"] for a in advice if (a.get("recommendedRestock") or 0) > 0}
    if not wanted:
        return Drafted([], [])
    async with transaction(pool) as cur:
        await cur.execute(
            """SELECT product_id, sku, preferred_supplier_id, pack_size, cost_price FROM products
               WHERE store_id = %s AND product_id = ANY(%s) AND NOT is_archived ORDER BY sku""",
            (store_id, list(wanted)),
        )
        products = [dict(r) for r in await cur.fetchall()]
        by_supplier: dict[int, list[dict]] = {}
        for p in products:
            if p["preferred_supplier_id"] is not None:
                by_supplier.setdefault(p["preferred_supplier_id"], []).append(p)
        ids = []
        for supplier_id, items in sorted(by_supplier.items()):
            await cur.execute(
                "INSERT INTO purchase_orders (store_id, supplier_id) VALUES (%s, %s) RETURNING po_id",
                (store_id, supplier_id),
            )
            po_id = (await cur.fetchone())["po_id"]
            ids.append(po_id)
            for p in items:
                await cur.execute(
                    """INSERT INTO purchase_order_lines (po_id, store_id, product_id, quantity, unit_cost)
                       VALUES (%s, %s, %s, %s, %s)""",
                    (
                        po_id,
                        store_id,
                        p["product_id"],
                        pack_round(wanted[p["product_id"]], p["pack_size"]),
                        p["cost_price"],
                    ),
                )
        orders = [await _answer(cur, store_id, i) for i in ids]
    return Drafted(orders, [p["sku"] for p in products if p["preferred_supplier_id"] is None])


async def _product_ids(cur, store_id: int, skus: list[str]) -> dict[str, dict]:
    await cur.execute(
        "SELECT sku, product_id, pack_size, cost_price FROM products WHERE store_id = %s AND sku = ANY(%s)",
        (store_id, skus),
    )
    found = {r["sku"]: dict(r) for r in await cur.fetchall()}
    missing = [s for s in skus if s not in found]
    if missing:
        raise ValidationFailed(
            f"Field 'lines': no product with SKU {missing[0]} in this store.",
            extra={"details": [{"field": "lines.product_sku", "message": f"unknown SKU {s}"} for s in missing]},
        )
    return found


async def update_draft(pool, store_id: int, po_id: int, changes: dict[str, Any]) -> PurchaseOrder:
    """Notes, and the lines (replaced as a whole), of a draft order."""
    async with transaction(pool) as cur:
        order = await _load(cur, store_id, po_id, lock=True)
        if order["status"] != "draft":
            raise _refuse(order, "edited (only drafts are)")
        if "notes" in changes:
            await cur.execute("UPDATE purchase_orders SET notes = %s WHERE po_id = %s", (changes["notes"], po_id))
        if "lines" in changes:
            lines = changes["lines"]
            products = await _product_ids(cur, store_id, [line["product_sku"] for line in lines])
            await cur.execute("DELETE FROM purchase_order_lines WHERE po_id = %s", (po_id,))
            for line in lines:
                p = products[line["product_sku"]]
                cost = line["unit_cost"] if "unit_cost" in line else p["cost_price"]
                await cur.execute(
                    """INSERT INTO purchase_order_lines (po_id, store_id, product_id, quantity, unit_cost)
                       VALUES (%s, %s, %s, %s, %s)""",
                    (po_id, store_id, p["product_id"], pack_round(line["quantity"], p["pack_size"]), cost),
                )
        await cur.execute("UPDATE purchase_orders SET updated_at = now() WHERE po_id = %s", (po_id,))
        return await _answer(cur, store_id, po_id)


async def submit(pool, store_id: int, po_id: int, today: date) -> PurchaseOrder:
    async with transaction(pool) as cur:
        order = await _load(cur, store_id, po_id, lock=True)
        if order["status"] != "draft":
            raise _refuse(order, "submitted (only drafts are)")
        await cur.execute("SELECT count(*) AS n FROM purchase_order_lines WHERE po_id = %s", (po_id,))
        if (await cur.fetchone())["n"] == 0:
            raise Conflict(f"Purchase order {po_id} has no lines; add lines before submitting.", code="empty_order")
        await cur.execute("SELECT lead_time_days FROM suppliers WHERE supplier_id = %s", (order["supplier_id"],))
        lead = (await cur.fetchone())["lead_time_days"]
        await cur.execute(
            """UPDATE purchase_orders SET status = 'ordered', ordered_at = now(), expected_date = %s,
                      updated_at = now() WHERE po_id = %s""",
            (today + timedelta(days=lead), po_id),
        )
        return await _answer(cur, store_id, po_id)


async def receive(pool, store_id: int, po_id: int, lines: list[dict], user_id: int | None) -> PurchaseOrder:
    async with transaction(pool) as cur:
        return await receive_on(cur, store_id, po_id, lines, user_id)


async def receive_on(cur, store_id: int, po_id: int, lines: list[dict], user_id: int | None) -> PurchaseOrder:
    """Receive some or all of an order's open quantities: `receipt` movements
    into stock and the order's counters, on the caller's transaction."""
    order = await _load(cur, store_id, po_id, lock=True)
    if order["status"] not in OPEN:
        raise _refuse(order, "received (submit it first)" if order["status"] == "draft" else "received")
    await cur.execute(
        """SELECT l.line_id, l.product_id, p.sku, l.quantity, l.quantity_received
           FROM purchase_order_lines l JOIN products p USING (product_id) WHERE l.po_id = %s""",
        (po_id,),
    )
    ordered = {r["sku"]: dict(r) for r in await cur.fetchall()}
    totals: dict[str, int] = {}
    for line in lines:
        totals[line["product_sku"]] = totals.get(line["product_sku"], 0) + line["quantity"]
    for sku, qty in totals.items():
        line = ordered.get(sku)
        if line is None:
            raise ValidationFailed(
                f"Field 'lines': product {sku} is not on purchase order {po_id}.",
                extra={"details": [{"field": "lines.product_sku", "message": f"{sku} is not on this order"}]},
            )
        open_qty = line["quantity"] - line["quantity_received"]
        if qty > open_qty:
            raise Conflict(
                f"Receiving {qty} of {sku} exceeds the {open_qty} still open on purchase order {po_id}.",
                code="over_receipt",
            )
    await receive_into_stock(
        cur,
        store_id,
        user_id,
        {ordered[sku]["product_id"]: qty for sku, qty in totals.items()},
        reference=f"po:{po_id}",
    )
    await cur.execute(
        """UPDATE purchase_order_lines l SET quantity_received = l.quantity_received + r.qty
           FROM unnest(%s::bigint[], %s::int[]) AS r(line_id, qty) WHERE l.line_id = r.line_id""",
        ([ordered[sku]["line_id"] for sku in totals], list(totals.values())),
    )
    await cur.execute(
        """UPDATE purchase_orders o SET updated_at = now(),
                  status = CASE WHEN x.open = 0 THEN 'received' ELSE 'partially_received' END,
                  received_at = CASE WHEN x.open = 0 THEN now() END
           FROM (SELECT sum(quantity - quantity_received) AS open FROM purchase_order_lines WHERE po_id = %s) x
           WHERE o.po_id = %s""",
        (po_id, po_id),
    )
    return await _answer(cur, store_id, po_id)


async def cancel(pool, store_id: int, po_id: int) -> PurchaseOrder:
    async with transaction(pool) as cur:
        order = await _load(cur, store_id, po_id, lock=True)
        if order["status"] in ("received", "cancelled"):
            raise _refuse(order, "cancelled")
        await cur.execute(
            "UPDATE purchase_orders SET status = 'cancelled', cancelled_at = now(), updated_at = now() "
            "WHERE po_id = %s",
            (po_id,),
        )
        return await _answer(cur, store_id, po_id)
