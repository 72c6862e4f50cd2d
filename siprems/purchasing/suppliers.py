"""Suppliers of one store, and the purchasing fields of a product (preferred
supplier, the supplier's SKU, pack size, where its lead time comes from).

Lead time: `products.lead_time_days` is the one lead time the stock policy
reads. A product that follows its supplier (`lead_time_from_supplier`) has it
kept equal to the supplier's lead time by `_sync_lead_times`; giving the
product its own lead time (here or through the products API) stops that (a
trigger in migration 0004)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg2.errors

from siprems.db import fetch_all, fetch_one, is_id, transaction
from siprems.errors import Conflict, NotFound
from siprems.jsonutil import DOCUMENTED

COLUMNS = "supplier_id, name, contact, email, phone, lead_time_days, notes, created_at, updated_at"
WRITABLE = ("name", "contact", "email", "phone", "lead_time_days", "notes")
PURCHASING = (
    "p.sku, p.name, p.preferred_supplier_id AS supplier_id, p.supplier_sku, p.pack_size, "
    "p.lead_time_days, p.lead_time_from_supplier"
)


@dataclass
class Supplier:
    supplier_id: int
    name: str
    contact: str | None
    email: str | None
    phone: str | None
    lead_time_days: int
    notes: str | None
    created_at: datetime
    updated_at: datetime


@dataclass
class ProductPurchasing:
    __pydantic_config__ = DOCUMENTED

    sku: str
    name: str
    supplier_id: int | None
    supplier_sku: str | None
    pack_size: int
    lead_time_days: int
    """the lead time the restock advice uses"""
    lead_time_from_supplier: bool


def not_found(supplier_id: int) -> NotFound:
    return NotFound(f"Supplier {supplier_id} not found", code="supplier_not_found")


def _name_taken(name: str) -> Conflict:
    return Conflict(f"A supplier named '{name}' already exists", code="supplier_name_taken")


async def list_suppliers(pool, store_id: int) -> list[Supplier]:
    rows = await fetch_all(
        pool, f"SELECT {COLUMNS} FROM suppliers WHERE store_id = %s ORDER BY lower(name), supplier_id", (store_id,)
    )
    return [Supplier(**row) for row in rows]


async def get_supplier(pool, store_id: int, supplier_id: int) -> Supplier:
    if not is_id(supplier_id):
        raise not_found(supplier_id)
    row = await fetch_one(
        pool, f"SELECT {COLUMNS} FROM suppliers WHERE store_id = %s AND supplier_id = %s", (store_id, supplier_id)
    )
    if row is None:
        raise not_found(supplier_id)
    return Supplier(**row)


async def create_supplier(pool, store_id: int, fields: dict[str, Any]) -> Supplier:
    values = {name: fields.get(name) for name in WRITABLE}
    try:
        row = await fetch_one(
            pool,
            f"""INSERT INTO suppliers (store_id, name, contact, email, phone, lead_time_days, notes)
                VALUES (%(store)s, %(name)s, %(contact)s, %(email)s, %(phone)s,
                        COALESCE(%(lead_time_days)s, 2), %(notes)s)
                RETURNING {COLUMNS}""",
            {"store": store_id, **values},
        )
    except psycopg2.errors.UniqueViolation as exc:
        raise _name_taken(values["name"]) from exc
    assert row is not None
    return Supplier(**row)


async def _sync_lead_times(cur, store_id: int, supplier_id: int) -> None:
    """Products following this supplier take its lead time (same transaction)."""
    await cur.execute(
        """SELECT set_config('siprems.lead_time_sync', 'on', true);
           UPDATE products p SET lead_time_days = s.lead_time_days, updated_at = now()
             FROM suppliers s
            WHERE s.supplier_id = %(supplier)s AND s.store_id = %(store)s
              AND p.store_id = %(store)s AND p.preferred_supplier_id = s.supplier_id
              AND p.lead_time_from_supplier AND p.lead_time_days <> s.lead_time_days;
           SELECT set_config('siprems.lead_time_sync', '', true)""",
        {"store": store_id, "supplier": supplier_id},
    )


async def update_supplier(pool, store_id: int, supplier_id: int, changes: dict[str, Any]) -> Supplier:
    if not is_id(supplier_id):
        raise not_found(supplier_id)
    sets = [f"{name} = %({name})s" for name in WRITABLE if name in changes]
    sets.append("updated_at = now()")
    try:
        async with transaction(pool) as cur:
            await cur.execute(
                f"""UPDATE suppliers SET {", ".join(sets)}
                    WHERE store_id = %(store)s AND supplier_id = %(supplier)s RETURNING {COLUMNS}""",
                {**changes, "store": store_id, "supplier": supplier_id},
            )
            row = await cur.fetchone()
            if row is None:
                raise not_found(supplier_id)
            supplier = Supplier(**row)
            if "lead_time_days" in changes:
                await _sync_lead_times(cur, store_id, supplier_id)
    except psycopg2.errors.UniqueViolation as exc:
        raise _name_taken(changes.get("name", "")) from exc
    return supplier


async def delete_supplier(pool, store_id: int, supplier_id: int) -> None:
    if not is_id(supplier_id):
        raise not_found(supplier_id)
    try:
        row = await fetch_one(
            pool,
            "DELETE FROM suppliers WHERE store_id = %s AND supplier_id = %s RETURNING supplier_id",
            (store_id, supplier_id),
        )
    except psycopg2.errors.ForeignKeyViolation as exc:
        raise Conflict(
            f"Supplier {supplier_id} has purchase orders; it cannot be deleted.", code="supplier_has_orders"
        ) from exc
    if row is None:
        raise not_found(supplier_id)


async def product_purchasing(pool, store_id: int, sku: str) -> ProductPurchasing | None:
    """None when the store has no such product (the caller answers the catalogue's 404)."""
    row = await fetch_one(
        pool, f"SELECT {PURCHASING} FROM products p WHERE p.store_id = %s AND p.sku = %s", (store_id, sku)
    )
    return ProductPurchasing(**row) if row is not None else None


async def set_product_purchasing(pool, store_id: int, sku: str, changes: dict[str, Any]) -> ProductPurchasing | None:
    """Change the purchasing fields sent. `lead_time_days`: a number overrides
    the supplier's; null follows the preferred supplier again. None when the
    store has no such product (nothing changes; the caller answers the 404)."""
    async with transaction(pool) as cur:
        await cur.execute(
            "SELECT product_id, preferred_supplier_id FROM products WHERE store_id = %s AND sku = %s FOR UPDATE",
            (store_id, sku),
        )
        product = await cur.fetchone()
        if product is None:
            return None
        supplier_id = changes.get("supplier_id", product["preferred_supplier_id"])
        if "supplier_id" in changes and supplier_id is not None:
            if not is_id(supplier_id):
                raise not_found(supplier_id)
            await cur.execute(
                "SELECT 1 FROM suppliers WHERE store_id = %s AND supplier_id = %s", (store_id, supplier_id)
            )
            if await cur.fetchone() is None:
                raise not_found(supplier_id)
        sets, params = [], {"product": product["product_id"]}
        if "supplier_id" in changes:
            sets.append("preferred_supplier_id = %(supplier_id)s")
            params["supplier_id"] = supplier_id
        for name in ("supplier_sku", "pack_size"):
            if name in changes:
                sets.append(f"{name} = %({name})s")
                params[name] = changes[name]
        if sets:
            await cur.execute(
                f"UPDATE products SET {', '.join(sets)}, updated_at = now() WHERE product_id = %(product)s", params
            )
        if "lead_time_days" in changes:
            if changes["lead_time_days"] is None:
                await cur.execute(
                    "UPDATE products SET lead_time_from_supplier = TRUE WHERE product_id = %s", (product["product_id"],)
                )
            else:  # the trigger clears lead_time_from_supplier when the value changes; here always
                await cur.execute(
                    """UPDATE products SET lead_time_days = %s, lead_time_from_supplier = FALSE, updated_at = now()
                       WHERE product_id = %s""",
                    (changes["lead_time_days"], product["product_id"]),
                )
        elif "supplier_id" in changes and product["preferred_supplier_id"] is None and supplier_id is not None:
            # A product given its first supplier follows that supplier's lead time.
            await cur.execute(
                "UPDATE products SET lead_time_from_supplier = TRUE WHERE product_id = %s", (product["product_id"],)
            )
        if supplier_id is not None:
            await _sync_one(cur, product["product_id"])
        await cur.execute(f"SELECT {PURCHASING} FROM products p WHERE p.product_id = %s", (product["product_id"],))
        return ProductPurchasing(**await cur.fetchone())


async def _sync_one(cur, product_id: int) -> None:
    await cur.execute(
        """SELECT set_config('siprems.lead_time_sync', 'on', true);
           UPDATE products p SET lead_time_days = s.lead_time_days
             FROM suppliers s
            WHERE p.product_id = %s AND s.supplier_id = p.preferred_supplier_id
              AND p.lead_time_from_supplier AND p.lead_time_days <> s.lead_time_days;
           SELECT set_config('siprems.lead_time_sync', '', true)""",
        (product_id,),
    )
