"""The roles of a store member, each including everything of the ones below it:

- `cashier`: checkout and single sales, reading products and events, its own sales of today;
- `manager`: also products, prices, stock, events, settings, imports, purchasing, forecasts,
  training, the dashboard, the stock ledger and the audit trail;
- `owner`: everything, the team included. A store always keeps at least one owner.

Which role each API route needs is one table: `siprems/api/access.py`.
"""

from __future__ import annotations

from typing import Literal

Role = Literal["owner", "manager", "cashier"]
ROLES: tuple[Role, ...] = ("cashier", "manager", "owner")  # lowest first
_RANK = {role: rank for rank, role in enumerate(ROLES)}


def is_role(value: object) -> bool:
    return value in _RANK


def allows(role: str, needed: str) -> bool:
    """Whether a member with `role` may do what needs `needed`."""
    return _RANK.get(role, -1) >= _RANK[needed]


def sees_only_own_sales_today(role: str) -> bool:
    """A cashier lists only the sales lines they made today (store time)."""
    return role == "cashier"
