"""Who may call each route: the one table of it. Every route of the OpenAPI
document is here (tests/test_team_roles.py checks that, and walks all of them
per role); README's role table is printed from it (`python -m siprems.api.access`).

A value is the lowest role that may call the route (roles include the ones
below them: cashier < manager < owner, `siprems.team.roles`), `member` for
any logged-in user whatever their role, or `public` for no token at all.
`@authenticated` (siprems/api/guard.py) enforces it: a member whose role is
too low gets 403 JSON naming the role needed. A route missing here needs
`owner` (closed by default).
"""

from __future__ import annotations

import re

PUBLIC = "public"
MEMBER = "member"
CASHIER, MANAGER, OWNER = "cashier", "manager", "owner"

ROUTE_ROLES: dict[str, str] = {
    # auth
    "POST /api/auth/register": PUBLIC,
    "POST /api/auth/login": PUBLIC,
    "POST /api/auth/refresh": PUBLIC,
    "GET /api/auth/profile": MEMBER,
    "POST /api/auth/change-password": MEMBER,
    "POST /api/auth/logout": MEMBER,
    # team
    "GET /api/team/members": OWNER,
    "PATCH /api/team/members/{user_id}": OWNER,
    "DELETE /api/team/members/{user_id}": OWNER,
    "GET /api/team/invitations": OWNER,
    "POST /api/team/invitations": OWNER,
    "DELETE /api/team/invitations/{invitation_id}": OWNER,
    "POST /api/team/invitations/accept": MEMBER,
    # audit trail
    "GET /api/audit": MANAGER,
    # products: cashiers read, managers change
    "GET /api/products": CASHIER,
    "GET /api/products/{sku}": CASHIER,
    "GET /api/products/stats": CASHIER,
    "GET /api/products/categories": CASHIER,
    "POST /api/products": MANAGER,
    "PUT /api/products/{sku}": MANAGER,
    "PATCH /api/products/{sku}": MANAGER,
    "DELETE /api/products/{sku}": MANAGER,
    "POST /api/products/import": MANAGER,
    # stock ledger
    "POST /api/stock/adjustments": MANAGER,
    "GET /api/stock/movements": MANAGER,
    # sales: a cashier sells and sees their own sales of today
    "GET /api/transactions": CASHIER,
    "GET /api/transactions/{transaction_id}": CASHIER,
    "POST /api/transactions": CASHIER,
    "POST /api/transactions/checkout": CASHIER,
    "POST /api/transactions/import": MANAGER,
    # events: cashiers read
    "GET /api/events": CASHIER,
    "GET /api/events/{event_id}": CASHIER,
    "POST /api/events": MANAGER,
    "PUT /api/events/{event_id}": MANAGER,
    "DELETE /api/events/{event_id}": MANAGER,
    # settings
    "GET /api/settings/store": MANAGER,
    "POST /api/settings/store": MANAGER,
    "PUT /api/settings/store": MANAGER,
    "GET /api/settings/operating-hours": MANAGER,
    "PUT /api/settings/operating-hours": MANAGER,
    "POST /api/settings/save-all": MANAGER,
    "PUT /api/settings/save-all": MANAGER,
    # dashboard (sales figures)
    "GET /api/dashboard-stats": MANAGER,
    "GET /api/dashboard/metrics": MANAGER,
    "GET /api/dashboard/sales-chart": MANAGER,
    "GET /api/dashboard/category-sales": MANAGER,
    "GET /api/system/dashboard-stats": MANAGER,
    "GET /api/system/settings/status": PUBLIC,  # version and database status only
    # forecasts and training
    "POST /api/predict": MANAGER,
    "POST /api/predict/async": MANAGER,
    "GET /api/predict/task/{task_id}": MANAGER,
    "GET /api/predict/restock": MANAGER,
    "GET /api/predict/accuracy": MANAGER,
    "GET /api/predict/store": MANAGER,
    "GET /api/predict/model/{sku}/status": MANAGER,
    "GET /api/tasks/active": MANAGER,
    "GET /api/tasks/scheduled": MANAGER,
    "GET /api/tasks/{task_id}": MANAGER,
    "POST /api/tasks/{task_id}/cancel": MANAGER,
    "POST /api/tasks/training/all": MANAGER,
    "POST /api/tasks/training/product/{sku}": MANAGER,
    # purchasing: suppliers, purchase orders (receipts are `receipt` movements in the stock ledger)
    "GET /api/suppliers": MANAGER,
    "POST /api/suppliers": MANAGER,
    "GET /api/suppliers/{supplier_id}": MANAGER,
    "PATCH /api/suppliers/{supplier_id}": MANAGER,
    "DELETE /api/suppliers/{supplier_id}": MANAGER,
    "GET /api/products/{sku}/purchasing": MANAGER,
    "PATCH /api/products/{sku}/purchasing": MANAGER,
    "GET /api/purchase-orders": MANAGER,
    "POST /api/purchase-orders/draft": MANAGER,
    "GET /api/purchase-orders/{po_id}": MANAGER,
    "PATCH /api/purchase-orders/{po_id}": MANAGER,
    "POST /api/purchase-orders/{po_id}/submit": MANAGER,
    "POST /api/purchase-orders/{po_id}/receive": MANAGER,
    "POST /api/purchase-orders/{po_id}/cancel": MANAGER,
    # exports: sales and stock data in bulk; the whole store's data only for owners
    "GET /api/export/products.csv": MANAGER,
    "GET /api/export/transactions.csv": MANAGER,
    "GET /api/export/purchase-orders.csv": MANAGER,
    "GET /api/export/store.json": OWNER,
    # webhooks send the store's events to outside URLs: owners
    "GET /api/webhooks": OWNER,
    "POST /api/webhooks": OWNER,
    "GET /api/webhooks/{webhook_id}": OWNER,
    "PATCH /api/webhooks/{webhook_id}": OWNER,
    "DELETE /api/webhooks/{webhook_id}": OWNER,
    "GET /api/webhooks/{webhook_id}/deliveries": OWNER,
    "POST /api/webhooks/{webhook_id}/ping": OWNER,
    # assistant: every member; it answers only what the caller's role may see
    "POST /api/chat": CASHIER,
    "GET /api/chat/sessions": CASHIER,
    "GET /api/chat/history/{session_id}": CASHIER,
    "DELETE /api/chat/{session_id}": CASHIER,
    "POST /chat": PUBLIC,  # legacy: general help without a token, by role with one
    # operations and documentation
    "GET /health": PUBLIC,
    "GET /ready": PUBLIC,
    "GET /metrics": PUBLIC,
    "GET /cache-stats": PUBLIC,
}

_PARAM = re.compile(r"<([^:>]+)(?::[^>]*)?>")
_keys: dict[tuple[str, str], str] = {}


def route_key(method: str, sanic_path: str) -> str:
    """`GET api/products/<sku:str>` -> `GET /api/products/{sku}` (the OpenAPI form)."""
    found = _keys.get((method, sanic_path))
    if found is None:
        path = "/" + _PARAM.sub(r"{\1}", sanic_path).strip("/")
        found = _keys[(method, sanic_path)] = f"{method} {path}"
    return found


def required_role(method: str, sanic_path: str) -> str:
    return ROUTE_ROLES.get(route_key(method, sanic_path), OWNER)


def markdown_table() -> str:
    """The README table: one row per route, a column per role."""
    order = {PUBLIC: 0, MEMBER: 1, CASHIER: 1, MANAGER: 2, OWNER: 3}
    lines = ["| route | needs | cashier | manager | owner |", "|---|---|:-:|:-:|:-:|"]
    for key, needed in ROUTE_ROLES.items():
        marks = ["✓" if order[needed] <= rank else "" for rank in (1, 2, 3)]
        lines.append(f"| `{key}` | {needed} | " + " | ".join(marks) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
