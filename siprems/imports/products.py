"""Bulk product import: upsert by SKU (default) or create-only.

Upsert: a row whose SKU exists in the store replaces that product's form
fields exactly like PUT /api/products/<sku> (omitted variation, description,
cost_price become null; omitted lead_time_days, service_level, reorder_level, is_archived
keep their values); other rows create products. `mode=create` refuses the
whole import (409) if any SKU already exists. A SKU twice in one import is a
validation error either way. All rows are written in one transaction.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import psycopg2.errors

from siprems.catalog.fields import ALIASES, READ_ONLY, ProductCreate
from siprems.db import transaction
from siprems.errors import Conflict
from siprems.imports.rows import (
    MAX_ERRORS,
    Problem,
    Rows,
    chunks,
    column_names,
    plain_array,
    reject,
    text_array,
    validate,
)
from siprems.inventory import ledger as stock_ledger
from siprems.jsonutil import DOCUMENTED

CHUNK = 20_000
COLUMNS = column_names(ProductCreate, [*ALIASES, *READ_ONLY])

_ROWS = """unnest(%(sku)s::text[], %(name)s::text[], %(category)s::text[], %(variation)s::text[],
                  %(description)s::text[], %(price)s::numeric[], %(cost_price)s::numeric[], %(stock)s::int[],
                  %(lead_time_days)s::int[], %(service_level)s::numeric[], %(reorder_level)s::int[],
                  %(is_archived)s::bool[])
           AS r(sku, name, category, variation, description, price, cost_price, stock,
                lead_time_days, service_level, reorder_level, is_archived)"""

# One statement per chunk. All CTEs see the same snapshot: `upd` changes the
# SKUs that exist, `ins` adds the others, `moved` records every stock change in
# the ledger (`old` is exact: `_write` locked the existing rows first).
UPSERT = f"""
WITH r AS (SELECT * FROM {_ROWS}),
old AS (SELECT p.product_id, p.stock FROM products p JOIN r ON p.store_id = %(store)s AND p.sku = r.sku),
upd AS (
    UPDATE products p SET name = r.name, category = r.category, variation = r.variation,
           description = r.description, price = r.price, cost_price = r.cost_price, stock = r.stock,
           lead_time_days = COALESCE(r.lead_time_days, p.lead_time_days),
           service_level = COALESCE(r.service_level, p.service_level),
           reorder_level = COALESCE(r.reorder_level, p.reorder_level),
           is_archived = COALESCE(r.is_archived, p.is_archived), updated_at = now()
    FROM r WHERE p.store_id = %(store)s AND p.sku = r.sku
    RETURNING p.product_id, p.stock),
ins AS (
    INSERT INTO products (store_id, sku, name, category, variation, description, price, cost_price, stock,
                          lead_time_days, service_level, reorder_level, is_archived)
    SELECT %(store)s, r.sku, r.name, r.category, r.variation, r.description, r.price, r.cost_price, r.stock,
           COALESCE(r.lead_time_days, 2), COALESCE(r.service_level, 0.95), COALESCE(r.reorder_level, 5),
           COALESCE(r.is_archived, FALSE)
    FROM r WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.store_id = %(store)s AND p.sku = r.sku)
    RETURNING product_id, stock),
moved AS ({
    stock_ledger.insert_sql(
        "SELECT u.product_id, u.stock - o.stock, u.stock, %(mv_ref)s::text FROM upd u JOIN old o USING (product_id) "
        "WHERE u.stock <> o.stock "
        "UNION ALL SELECT product_id, stock, stock, %(mv_ref)s::text FROM ins"
    )
})
SELECT (SELECT count(*) FROM upd) AS updated, (SELECT count(*) FROM ins) AS created"""

# Existing products of the import, locked in product_id order (the order checkouts lock in).
_LOCK_EXISTING = """SELECT product_id FROM products WHERE store_id = %s AND sku = ANY(%s::text[])
                    ORDER BY product_id FOR NO KEY UPDATE"""


def check(rows: Rows) -> list[ProductCreate]:
    """Validate every row, and that no SKU appears twice."""
    products = validate(ProductCreate, rows)
    first_row: dict[str, int] = {}
    problems = []
    for index, product in enumerate(products):
        seen = first_row.setdefault(product.sku, index)
        if seen != index:
            place = rows.where(index)
            problems.append(
                Problem(place["row"], "sku", f"repeats SKU {product.sku} of row {seen + 1}", place.get("line"))
            )
    if problems:
        raise reject(problems)
    return products


_TEXT = ("sku", "name", "category", "variation", "description")
_PLAIN = ("price", "cost_price", "stock", "lead_time_days", "service_level", "reorder_level", "is_archived")


@dataclass
class ProductsImported:
    __pydantic_config__ = DOCUMENTED

    received: int
    created: int
    updated: int
    mode: str
    import_id: str
    """reference of its stock movements (import:<id>)"""


def _params(store_id: int, batch, movement: dict) -> dict:
    params: dict = {name: text_array([getattr(p, name) for p in batch]) for name in _TEXT}
    params.update({name: plain_array([getattr(p, name) for p in batch]) for name in _PLAIN})
    params.update(movement)
    return params


async def write(
    pool, store_id: int, rows: Rows, products: list[ProductCreate], mode: str, user_id: int | None = None
) -> ProductsImported:
    """Write all products in one transaction; returns counts and the
    `import_id` that the ledger's `import` movements name as reference."""
    import_id = str(uuid.uuid4())
    movement = {**stock_ledger.params(store_id, user_id, "import"), "mv_ref": f"import:{import_id}"}
    try:
        result = await _write(pool, store_id, rows, products, mode, movement)
    except psycopg2.errors.UniqueViolation as exc:
        # Another request created one of these SKUs after our snapshot.
        raise Conflict(
            "A product with one of these SKUs was created meanwhile; nothing was imported. Retry the import.",
            code="sku_taken",
        ) from exc
    except psycopg2.errors.DeadlockDetected as exc:
        raise Conflict(
            "A concurrent change to these products interrupted the import; nothing was imported. Retry the import.",
            code="import_conflict",
        ) from exc
    return ProductsImported(**result, import_id=import_id)


async def _write(pool, store_id: int, rows: Rows, products: list[ProductCreate], mode: str, movement: dict) -> dict:
    created = updated = 0
    batches = await asyncio.to_thread(lambda: [_params(store_id, b, movement) for b in chunks(products, CHUNK)])
    async with transaction(pool) as cur:
        if mode == "create":
            await cur.execute(
                "SELECT sku FROM products WHERE store_id = %s AND sku = ANY(%s::text[])",
                (store_id, text_array([p.sku for p in products])),
            )
            taken = {row["sku"] for row in await cur.fetchall()}
            if taken:
                index = {p.sku: i for i, p in enumerate(products)}
                clashes = sorted(taken, key=index.__getitem__)
                problems = [
                    Problem(**rows.where(index[sku]), field="sku", message=f"Product with SKU {sku} already exists")
                    for sku in clashes
                ]
                raise Conflict(
                    f"{len(clashes)} SKU(s) already exist (first: {clashes[0]} in row {index[clashes[0]] + 1}); "
                    f"nothing was imported. Use mode=upsert to update existing products.",
                    code="sku_taken",
                    extra={"details": [p.as_dict() for p in problems[:MAX_ERRORS]], "error_count": len(clashes)},
                )
        else:
            await cur.execute(_LOCK_EXISTING, (store_id, text_array([p.sku for p in products])))
        for params in batches:
            await cur.execute(UPSERT, params)
            counts = await cur.fetchone()
            created += counts["created"]
            updated += counts["updated"]
    return {"received": len(products), "created": created, "updated": updated, "mode": mode}
