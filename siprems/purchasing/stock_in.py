"""The one place purchasing puts received goods into stock.

Goes through the stock ledger (siprems.inventory.ledger, the team issue) as a
`receipt` movement inside the caller's transaction. Until that ledger is on
main this raises the stock directly, in the same transaction; callers do not
change when it lands."""

from __future__ import annotations


async def receive_into_stock(
    cur, store_id: int, product_id: int, quantity: int, *, reference: str, user_id: int | None
) -> int:
    """Add `quantity` to the product's stock (same transaction); returns the new stock."""
    try:
        from siprems.inventory import ledger
    except ImportError:
        ledger = None
    if ledger is not None and hasattr(ledger, "record"):
        return await ledger.record(
            cur,
            store_id=store_id,
            product_id=product_id,
            kind="receipt",
            delta=quantity,
            reference=reference,
            user_id=user_id,
        )
    await cur.execute(
        """UPDATE products SET stock = stock + %s, updated_at = now()
           WHERE store_id = %s AND product_id = %s RETURNING stock""",
        (quantity, store_id, product_id),
    )
    return (await cur.fetchone())["stock"]
