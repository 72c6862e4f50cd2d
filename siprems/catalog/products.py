"""Products of one store: every statement is scoped by store_id, so another
store's SKU is indistinguishable from a missing one."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg2.errors

from siprems import audit
from siprems.catalog.fields import ProductCreate, ProductPatch, ProductReplace
from siprems.catalog.read import not_found
from siprems.db import fetch_all, fetch_one, transaction
from siprems.errors import Conflict
from siprems.inventory import ledger as stock_ledger
from siprems.inventory import stock as inventory
from siprems.inventory.policy import Status
from siprems.jsonutil import DOCUMENTED, Number

COLUMNS = (
    "product_id, sku, name, category, variation, cost_price, price, stock, description, "
    "created_at, updated_at, is_archived, lead_time_days, service_level, reorder_level"
)

# Columns a client may write, in a fixed order (never interpolate anything else).
WRITABLE = (
    "sku",
    "name",
    "category",
    "variation",
    "description",
    "price",
    "cost_price",
    "stock",
    "lead_time_days",
    "service_level",
    "reorder_level",
    "is_archived",
)


@dataclass
class Product:
    __pydantic_config__ = DOCUMENTED

    product_id: int
    sku: str
    name: str
    category: str
    variation: str | None
    cost_price: Number | None
    price: Number
    stock: int
    description: str | None
    created_at: datetime
    updated_at: datetime
    is_archived: bool
    lead_time_days: int
    service_level: Number
    reorder_level: int
    """low-stock threshold while there is no forecast model"""
    stock_status: Status
    """the stock policy's verdict (siprems.inventory.policy)"""


@dataclass
class StockStats:
    active_products: int
    low_stock_items: int  # out or low by the stock policy
    total_inventory_value: Number


async def _present_all(pool, store_id: int, rows: list[dict]) -> list[Product]:
    found = await inventory.statuses(pool, store_id, rows)
    return [Product(**row, stock_status=found[row["product_id"]]) for row in rows]


async def _present_one(pool, store_id: int, row: dict) -> Product:
    return (await _present_all(pool, store_id, [row]))[0]


def sku_taken(sku: str) -> Conflict:
    return Conflict(f"Product with SKU {sku} already exists", code="sku_taken")


@dataclass(frozen=True)
class ListQuery:
    limit: int | None = None
    offset: int = 0
    search: str | None = None
    category: str | None = None
    include_archived: bool = False

    def cache_name(self) -> str:
        """A cache entry name for this exact query (hashed: search is free text)."""
        raw = f"{self.limit}|{self.offset}|{self.search}|{self.category}|{self.include_archived}"
        return "products:list:" + hashlib.sha1(raw.encode()).hexdigest()


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_products(pool, store_id: int, q: ListQuery) -> tuple[list[Product], int]:
    """One page, newest first, and how many match in all."""
    where = ["store_id = %(store)s"]
    params: dict[str, Any] = {"store": store_id, "limit": q.limit, "offset": q.offset}
    if not q.include_archived:
        where.append("NOT is_archived")
    if q.category:
        where.append("lower(category) = lower(%(category)s)")
        params["category"] = q.category
    if q.search:
        where.append("(name ILIKE %(like)s OR sku ILIKE %(like)s OR category ILIKE %(like)s)")
        params["like"] = _like(q.search)
    rows = await fetch_all(
        pool,
        f"""SELECT {COLUMNS}, {inventory.policy_columns("products")}, count(*) OVER () AS total_count FROM products
            WHERE {" AND ".join(where)}
            ORDER BY created_at DESC, product_id DESC LIMIT %(limit)s OFFSET %(offset)s""",
        params,
    )
    if rows:
        total = rows[0]["total_count"]
    elif q.offset:
        count = await fetch_one(pool, f"SELECT count(*) AS n FROM products WHERE {' AND '.join(where)}", params)
        total = count["n"] if count else 0
    else:
        total = 0
    for row in rows:
        row.pop("total_count", None)
    return await _present_all(pool, store_id, rows), total


async def get_product(pool, store_id: int, sku: str) -> Product:
    row = await fetch_one(
        pool,
        f"SELECT {COLUMNS}, {inventory.policy_columns('products')} FROM products WHERE store_id = %s AND sku = %s",
        (store_id, sku),
    )
    if row is None:
        raise not_found(sku)
    return await _present_one(pool, store_id, row)


# The product and its opening stock movement in one statement.
_CREATE = f"""
WITH created AS (
    INSERT INTO products (store_id, sku, name, category, variation, description, price, cost_price,
                          stock, lead_time_days, service_level, reorder_level, is_archived)
    VALUES (%(store)s, %(sku)s, %(name)s, %(category)s, %(variation)s, %(description)s, %(price)s,
            %(cost_price)s, %(stock)s, COALESCE(%(lead_time_days)s, 2),
            COALESCE(%(service_level)s, 0.95), COALESCE(%(reorder_level)s, 5), COALESCE(%(is_archived)s, FALSE))
    RETURNING {COLUMNS}
),
opening AS ({stock_ledger.insert_sql("SELECT product_id, stock, stock, 'product created' FROM created")})
SELECT * FROM created"""


async def create_product(pool, store_id: int, body: ProductCreate, user_id: int | None = None) -> Product:
    try:
        async with transaction(pool) as cur:
            await cur.execute(_CREATE, {**stock_ledger.params(store_id, user_id, "opening"), **body.model_dump()})
            row = dict(await cur.fetchone())
            await _audit(cur, store_id, user_id, "create", None, row)
    except psycopg2.errors.UniqueViolation as exc:
        raise sku_taken(body.sku) from exc
    return await _present_one(pool, store_id, row)


def _audited(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("created_at", "updated_at")}


async def _audit(cur, store_id: int, user_id: int | None, action: str, before: dict | None, after: dict | None):
    """The audit entry of a product change, sent with the COMMIT (one round trip).
    An update records only the fields that changed (with the SKU and id)."""
    base = after if after is not None else before
    old, new = audit.changed(_audited(before) if before else None, _audited(after) if after else None)
    ident = {"product_id": base["product_id"], "sku": base["sku"]}
    old = {**ident, **old} if old is not None else None
    new = {**ident, **new} if new is not None else None
    if before is not None and after is not None and before["sku"] != after["sku"]:
        old["sku"] = before["sku"]
    sql, params = audit.statement(store_id, user_id, "product", base["sku"], action, old, new)
    await cur.execute_and_commit(sql, params)


# The edit and, when it changes stock, its `adjustment` movement in one statement.
_UPDATE = """
WITH updated AS (
    UPDATE products SET {sets} WHERE store_id = %(store)s AND product_id = %(product_id)s RETURNING {columns}
),
moved AS ({movement})
SELECT * FROM updated"""
_EDIT_MOVEMENT = stock_ledger.insert_sql(
    "SELECT product_id, stock - %(old_stock)s, stock, 'product:' || sku FROM updated WHERE stock <> %(old_stock)s"
)


async def _update(pool, store_id: int, sku: str, changes: dict[str, Any], user_id: int | None = None) -> Product:
    sets = [f"{name} = %({name})s" for name in WRITABLE if name in changes]
    sets.append("updated_at = now()")
    try:
        async with transaction(pool) as cur:
            # The row as it was, locked: the stock delta is exact even with concurrent sales.
            await cur.execute(
                f"SELECT {COLUMNS} FROM products WHERE store_id = %s AND sku = %s FOR NO KEY UPDATE", (store_id, sku)
            )
            before = await cur.fetchone()
            if before is None:
                raise not_found(sku)
            params = {
                **changes,
                **stock_ledger.params(store_id, user_id, "adjustment", "product edit"),
                "product_id": before["product_id"],
                "old_stock": before["stock"],
            }
            sql = _UPDATE.format(sets=", ".join(sets), columns=COLUMNS, movement=_EDIT_MOVEMENT)
            await cur.execute(sql, params)
            row = dict(await cur.fetchone())
            archived = row["is_archived"] and not before["is_archived"]
            await _audit(cur, store_id, user_id, "archive" if archived else "update", dict(before), row)
    except psycopg2.errors.UniqueViolation as exc:
        raise sku_taken(changes["sku"]) from exc
    return await _present_one(pool, store_id, row)


async def replace_product(pool, store_id: int, sku: str, body: ProductReplace, user_id: int | None = None) -> Product:
    changes = body.model_dump()
    # Fields outside the product form keep their values unless sent.
    for name in ("lead_time_days", "service_level", "reorder_level", "is_archived"):
        if changes[name] is None:
            del changes[name]
    if changes["sku"] is None:
        del changes["sku"]
    return await _update(pool, store_id, sku, changes, user_id)


async def patch_product(pool, store_id: int, sku: str, body: ProductPatch, user_id: int | None = None) -> Product:
    return await _update(pool, store_id, sku, body.changes(), user_id)


async def delete_product(pool, store_id: int, sku: str, user_id: int | None = None) -> None:
    """Delete a product with no sales; 409 when it has any (archive it instead)."""
    try:
        async with transaction(pool) as cur:
            # ON DELETE RESTRICT on transactions.product_id: the check and the delete are one statement.
            await cur.execute(
                f"DELETE FROM products WHERE store_id = %s AND sku = %s RETURNING {COLUMNS}", (store_id, sku)
            )
            deleted = await cur.fetchone()
            if deleted is None:
                raise not_found(sku)
            await _audit(cur, store_id, user_id, "delete", dict(deleted), None)
    except psycopg2.errors.ForeignKeyViolation as exc:
        raise Conflict(
            f"Cannot delete product {sku}: it has sales history. "
            f"Archive it instead (DELETE /api/products/{sku}?archive=true).",
            code="product_has_sales",
        ) from exc


async def archive_product(pool, store_id: int, sku: str, user_id: int | None = None) -> Product:
    return await _update(pool, store_id, sku, {"is_archived": True}, user_id)


async def stats(pool, store_id: int) -> StockStats:
    """Active products, how many the stock policy calls out or low, and the stock's value."""
    row = await fetch_one(
        pool,
        """SELECT count(*) AS active_products, COALESCE(sum(price * stock), 0) AS total_inventory_value
           FROM products WHERE store_id = %s AND NOT is_archived""",
        (store_id,),
    )
    assert row is not None
    counts = inventory.counts(await inventory.store_stock(pool, store_id))
    return StockStats(row["active_products"], counts["low_stock_items"], row["total_inventory_value"])


async def categories(pool, store_id: int) -> list[str]:
    rows = await fetch_all(
        pool,
        "SELECT DISTINCT category FROM products WHERE store_id = %s AND NOT is_archived ORDER BY category",
        (store_id,),
    )
    return [row["category"] for row in rows]
