"""The store facts the assistant and the Gemini prompt are grounded in: plain,
parameterised SQL, always scoped by store_id. "Today" is the store's local
date (stores.timezone); periods are half-open ranges of local dates.

Definitions (the tests compute the same figures with their own SQL):
- revenue = sum(quantity_sold * price_per_unit); items = sum(quantity_sold);
  transactions = distinct checkouts (a line without checkout_id is its own).
- demand = the latest stored forecast model's path from today when the product
  has one, else the units sold in the 28 full local days before today / 28 per
  day (an *estimate*, said so in answers; see `demand_forecast`).
- low stock, days of cover and the quantity to order: the stock policy's
  (`siprems.inventory.policy`, the same verdict as the dashboard, the product
  responses and `/api/predict/restock`). The demand above is only shown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from siprems.calendar import holidays
from siprems.calendar.locale import LOCALE_COLUMNS, StoreLocale, locale_of
from siprems.catalog.read import stock_rows
from siprems.db import Pool, fetch_all, fetch_one
from siprems.forecasting import registry
from siprems.forecasting.drivers import Drivers, explain
from siprems.forecasting.result import ForecastModel
from siprems.inventory import stock as inventory
from siprems.inventory.policy import StockPosition

log = logging.getLogger("siprems.chat.facts")

ESTIMATE_WINDOW_DAYS = 28
MODEL_PATH_DAYS = 120  # days of a stored forecast read per product


@dataclass(frozen=True)
class AnswerContext:
    """What an answer is computed against: the store's locale (the one store-locale
    type), its name and currency for the wording, and its local day when the
    question came in (fixed for the whole answer)."""

    locale: StoreLocale
    name: str
    currency: str
    today: date

    @property
    def store_id(self) -> int:
        return self.locale.store_id


@dataclass(frozen=True)
class Product:
    product_id: int
    sku: str
    name: str
    category: str
    stock: int
    price: Decimal
    lead_time_days: int
    reorder_level: int = 5


@dataclass(frozen=True)
class Demand:
    """Expected units for a product: a flat rate (the estimate) or a forecast
    path from today (one value per day; its mean continues past its end)."""

    per_day: Fraction  # the flat rate, or the path's mean over its first 28 days
    is_estimate: bool  # True: from the recent average, not a trained model
    path: tuple[Fraction, ...] = ()

    def over(self, days: int) -> Fraction:
        if not self.path:
            return self.per_day * days
        head = sum(self.path[:days], Fraction(0))
        beyond = max(0, days - len(self.path))
        return head + beyond * (sum(self.path, Fraction(0)) / len(self.path))

    @classmethod
    def from_path(cls, values: list[float]) -> Demand:
        path = tuple(Fraction(max(0.0, v)).limit_denominator(1000) for v in values)
        first = path[:ESTIMATE_WINDOW_DAYS]
        return cls(sum(first, Fraction(0)) / len(first), False, path)


@dataclass(frozen=True)
class StockStatus:
    """A product, its demand (shown) and the stock policy's verdict (decides)."""

    product: Product
    demand: Demand
    position: StockPosition

    @property
    def is_low(self) -> bool:
        return self.position.status != "ok"

    @property
    def restock_qty(self) -> int:
        return self.position.recommended_order

    @property
    def days_of_cover(self) -> int | None:
        return self.position.days_of_cover


@dataclass(frozen=True)
class Totals:
    revenue: Decimal
    transactions: int
    items: int


@dataclass(frozen=True)
class Ranked:
    product: Product
    units: int
    revenue: Decimal


@dataclass(frozen=True)
class CalendarEntry:
    day: date
    name: str
    kind: str  # promotion | holiday | store-closed | public-holiday
    description: str | None = None


async def answer_context(pool: Pool, store_id: int) -> AnswerContext | None:
    """The store's context in one query (None when there is no such store)."""
    row = await fetch_one(pool, f"SELECT name, currency, {LOCALE_COLUMNS} FROM stores WHERE store_id = %s", (store_id,))
    if row is None:
        return None
    locale = locale_of(store_id, row)
    return AnswerContext(locale, row["name"], row["currency"], locale.today())


def _product(row: dict[str, Any]) -> Product:
    return Product(**{k: row[k] for k in Product.__dataclass_fields__})


async def products(pool: Pool, store_id: int) -> list[Product]:
    return [_product(row) for row in await stock_rows(pool, store_id)]


def _bounds(s: AnswerContext, start: date, end: date) -> dict[str, Any]:
    return {"store_id": s.store_id, "tz": s.locale.timezone, "start": start, "end": end}


_RANGE = (
    "transaction_date >= (%(start)s::timestamp AT TIME ZONE %(tz)s) "
    "AND transaction_date < (%(end)s::timestamp AT TIME ZONE %(tz)s)"
)


async def units_by_product(pool: Pool, s: AnswerContext, start: date, end: date) -> dict[int, tuple[int, Decimal]]:
    """product_id -> (units, revenue) sold in [start, end) local dates."""
    rows = await fetch_all(
        pool,
        f"""
        SELECT product_id, sum(quantity_sold)::bigint AS units,
               sum(quantity_sold * price_per_unit) AS revenue
        FROM transactions WHERE store_id = %(store_id)s AND {_RANGE}
        GROUP BY product_id""",
        _bounds(s, start, end),
    )
    return {r["product_id"]: (int(r["units"]), r["revenue"]) for r in rows}


async def totals(pool: Pool, s: AnswerContext, start: date, end: date) -> Totals:
    row = await fetch_one(
        pool,
        f"""
        SELECT COALESCE(sum(quantity_sold * price_per_unit), 0) AS revenue,
               count(DISTINCT COALESCE(checkout_id::text, 'line-' || transaction_id)) AS transactions,
               COALESCE(sum(quantity_sold), 0)::bigint AS items
        FROM transactions WHERE store_id = %(store_id)s AND {_RANGE}""",
        _bounds(s, start, end),
    )
    assert row is not None  # an aggregate without GROUP BY always answers one row
    return Totals(row["revenue"], int(row["transactions"]), int(row["items"]))


async def ranking(pool: Pool, s: AnswerContext, start: date, end: date, *, best: bool, limit: int = 5) -> list[Ranked]:
    """Products by units sold in [start, end): most first (best) or fewest
    first, zero-sale products included. Ties: by name."""
    sold = await units_by_product(pool, s, start, end)
    rows = [Ranked(p, *sold.get(p.product_id, (0, Decimal(0)))) for p in await products(pool, s.store_id)]
    rows.sort(key=lambda r: (-r.units if best else r.units, r.product.name))
    return rows[:limit]


async def demand_forecast(pool: Pool, s: AnswerContext, items: list[Product]) -> dict[int, Demand]:
    """Expected demand per product: the one place that decides where it comes
    from. The latest trained forecast (forecasting's model registry) when the
    product has one; otherwise the recent average, flagged as an estimate."""
    start = s.today - timedelta(days=ESTIMATE_WINDOW_DAYS)
    sold = await units_by_product(pool, s, start, s.today)
    models = await _model_paths(pool, s, items)
    return {
        p.product_id: models.get(p.product_id)
        or Demand(Fraction(sold.get(p.product_id, (0, 0))[0], ESTIMATE_WINDOW_DAYS), True)
        for p in items
    }


async def _model_paths(pool: Pool, s: AnswerContext, items: list[Product]) -> dict[int, Demand]:
    """Forecast paths from today of the products' latest stored models. Any
    model that cannot be read falls back to the estimate (logged), so a change
    in the model format never breaks the assistant."""
    out = {}
    for product_id, newest in (await registry.latest_models(pool, s.store_id, [p.product_id for p in items])).items():
        try:
            forecast = ForecastModel.from_dict(newest["model"]).forecast(s.today, MODEL_PATH_DAYS)
            values = [float(r["yhat"]) for r in forecast]
        except Exception as exc:  # noqa: BLE001 - a foreign format must not break answers
            log.warning("unreadable forecast model for product %s: %r", product_id, exc)
            continue
        if len(values) == MODEL_PATH_DAYS:
            out[product_id] = Demand.from_path(values)
    return out


async def forecast_drivers(pool: Pool, s: AnswerContext, product_id: int, days: int) -> Drivers | None:
    """Why the product's latest forecast says what it says over the next ``days`` days
    (the fitted model's terms; see siprems.forecasting.drivers), or None."""
    row = await registry.latest(pool, s.store_id, product_id)
    if row is None:
        return None
    try:
        return explain(ForecastModel.from_dict(row["model"]), s.today, days)
    except Exception as exc:  # noqa: BLE001 - a foreign format must not break answers
        log.warning("unreadable forecast drivers for product %s: %r", product_id, exc)
        return None


async def stock_report(pool: Pool, s: AnswerContext) -> list[StockStatus]:
    """Every product's stock status from the stock policy, most urgent first
    (out, low, ok; then fewest days of cover, lowest stock, name)."""
    positions = await inventory.store_stock(pool, s.store_id, today=s.today)
    items = [_product(p.product) for p in positions]
    demand = await demand_forecast(pool, s, items)
    return [StockStatus(p, demand[p.product_id], pos.position) for p, pos in zip(items, positions, strict=False)]


async def calendar(pool: Pool, s: AnswerContext, days: int, lang: str) -> list[CalendarEntry]:
    """Store events and public holidays from today for `days` days."""
    end = s.today + timedelta(days=days)
    rows = await fetch_all(
        pool,
        """
        SELECT event_date, event_name, type, description FROM events
        WHERE store_id = %s AND event_date >= %s AND event_date < %s
        ORDER BY event_date, event_name""",
        (s.store_id, s.today, end),
    )
    entries = [CalendarEntry(r["event_date"], r["event_name"], r["type"], r["description"]) for r in rows]
    for day, name in public_holidays(s, s.today, end, lang):
        entries.append(CalendarEntry(day, name, "public-holiday"))
    entries.sort(key=lambda e: (e.day, e.kind != "public-holiday", e.name))
    return entries


def public_holidays(s: AnswerContext, start: date, end: date, lang: str) -> list[tuple[date, str]]:
    """Public holidays of the store's country in [start, end), named in the
    asker's language when the `holidays` package has it (siprems.calendar.holidays)."""
    return holidays.public_holidays(
        s.locale.country, start, end - timedelta(days=1), s.locale.subdivision, language=lang
    )


def period_range(kind: str, n: int, today: date) -> tuple[date, date]:
    """[start, end) local dates of a named period (see intents.Period);
    "this week" starts on Monday, "last_n" is the n days ending today."""
    if kind == "today":
        return today, today + timedelta(days=1)
    if kind == "yesterday":
        return today - timedelta(days=1), today
    monday = today - timedelta(days=today.weekday())
    if kind == "this_week":
        return monday, today + timedelta(days=1)
    if kind == "last_week":
        return monday - timedelta(days=7), monday
    first = today.replace(day=1)
    if kind == "this_month":
        return first, today + timedelta(days=1)
    if kind == "last_month":
        return (first - timedelta(days=1)).replace(day=1), first
    if kind == "last_n":
        return today - timedelta(days=max(1, n) - 1), today + timedelta(days=1)
    raise ValueError(f"unknown period {kind!r}")
