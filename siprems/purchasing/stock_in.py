"""The one place purchasing puts received goods into stock: `receipt`
movements through the stock ledger, inside the caller's transaction."""

from __future__ import annotations

from siprems.inventory import ledger


async def receive_into_stock(
    cur, store_id: int, user_id: int | None, quantities: dict[int, int], *, reference: str
) -> list[dict]:
    """Add `quantities` (product id -> units) to stock; returns the movements."""
    changes = sorted(quantities.items())  # product id order: the order checkout locks rows in
    return await ledger.record_movements(cur, store_id, user_id, "receipt", changes, reference=reference)
