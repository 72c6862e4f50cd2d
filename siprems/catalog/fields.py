"""Input models for products, shared by the REST routes and the bulk import.

Field names are the contract's snake_case; the frontend's camelCase aliases
(`id` = sku, `sellingPrice` = price, `costPrice` = cost_price) are accepted
too. Sending both spellings of one field with different values is an error,
not a silent choice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

ALIASES = {"id": "sku", "sellingPrice": "price", "costPrice": "cost_price"}

# Fixed routes under /api/products; a product with one of these SKUs could not
# be addressed as /api/products/<sku>.
RESERVED_SKUS = frozenset({"stats", "categories", "import"})

# Read-only fields of a product response: a client may send a product back as
# it received it (PUT of a GET), so these are accepted and ignored.
READ_ONLY = frozenset({"product_id", "created_at", "updated_at"})

MAX_MONEY = Decimal("999999999999.99")  # NUMERIC(14, 2)
MAX_STOCK = 2_147_483_647  # INTEGER


def _not_bool(value: Any) -> Any:
    # pydantic's lax mode would read true as 1; a boolean price or stock is a client bug.
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


def _sku_free(value: str) -> str:
    if value.lower() in RESERVED_SKUS:
        raise ValueError(f"'{value}' is reserved (it is a route name); choose another SKU")
    return value


Sku = Annotated[str, Field(min_length=3, max_length=50, pattern=r"^[A-Za-z0-9._-]+$"), AfterValidator(_sku_free)]
Money = Annotated[Decimal, BeforeValidator(_not_bool), Field(ge=0, le=MAX_MONEY, max_digits=14, decimal_places=2)]
Stock = Annotated[int, BeforeValidator(_not_bool), Field(ge=0, le=MAX_STOCK)]
LeadTime = Annotated[int, BeforeValidator(_not_bool), Field(ge=0, le=365)]
ServiceLevel = Annotated[Decimal, BeforeValidator(_not_bool), Field(ge=Decimal("0.5"), le=Decimal("0.999"),
                                                                    decimal_places=4)]
Name = Annotated[str, Field(min_length=1, max_length=255)]
Category = Annotated[str, Field(min_length=1, max_length=100)]
Variation = Annotated[str, Field(max_length=255)]
Description = Annotated[str, Field(max_length=1000)]


def canonical_keys(data: Any) -> Any:
    """Map camelCase aliases to snake_case; drop read-only response fields."""
    if not isinstance(data, dict):
        return data
    out = {}
    for key, value in data.items():
        if key in READ_ONLY:
            continue
        name = ALIASES.get(key, key)
        if name in out and out[name] != value:
            raise ValueError(f"'{key}' and '{name}' are the same field with different values; send one of them")
        out[name] = value
    return out


class _ProductInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        return canonical_keys(data)


class ProductCreate(_ProductInput):
    """POST /api/products and one row of a product import."""

    sku: Sku
    name: Name
    category: Category
    price: Money
    stock: Stock
    cost_price: Money | None = None
    variation: Variation | None = None
    description: Description | None = None
    lead_time_days: LeadTime | None = None
    service_level: ServiceLevel | None = None
    is_archived: bool | None = None


class ProductReplace(_ProductInput):
    """PUT /api/products/<sku>: every field of the product form is given;
    omitted optional form fields become null. `sku` renames when it differs.
    Forecast settings and `is_archived` keep their values unless sent."""

    sku: Sku | None = None
    name: Name
    category: Category
    price: Money
    stock: Stock
    cost_price: Money | None = None
    variation: Variation | None = None
    description: Description | None = None
    lead_time_days: LeadTime | None = None
    service_level: ServiceLevel | None = None
    is_archived: bool | None = None


class ProductPatch(_ProductInput):
    """PATCH /api/products/<sku>: only the fields sent change; null clears
    the nullable ones (cost_price, variation, description)."""

    # Defaults are not validated, so an omitted field stays None while an
    # explicit null for a required column fails its type check (naming it).
    sku: Sku = None  # type: ignore[assignment]
    name: Name = None  # type: ignore[assignment]
    category: Category = None  # type: ignore[assignment]
    price: Money = None  # type: ignore[assignment]
    stock: Stock = None  # type: ignore[assignment]
    cost_price: Money | None = None
    variation: Variation | None = None
    description: Description | None = None
    lead_time_days: LeadTime = None  # type: ignore[assignment]
    service_level: ServiceLevel = None  # type: ignore[assignment]
    is_archived: bool = None  # type: ignore[assignment]

    @model_validator(mode="after")
    def _not_empty(self) -> "ProductPatch":
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}
