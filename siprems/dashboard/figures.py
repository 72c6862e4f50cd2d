"""Dashboard figures for one store, computed from its sales and products.

"Today" is the store's local date. Periods for metrics are rolling windows of
whole local days ending today: today (1 day), week (7), month (30), year
(365), each compared with the window of the same length just before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from siprems.calendar.locale import StoreLocale
from siprems.dashboard import queries as q
from siprems.db import Pool, fetch_all
from siprems.inventory import stock as inventory
from siprems.inventory.policy import Status
from siprems.jsonutil import DOCUMENTED, Number

RANGES = {"today": 1, "week": 7, "month": 30, "year": 365}
CHART_DAYS = 90
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
PALETTE = ("#3b82f6", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#ec4899", "#14b8a6", "#f97316", "#6366f1", "#84cc16")


# The response shapes; camelCase field names are the frontend's.
Day = date  # for fields beside one named `date`


@dataclass
class Cards:
    __pydantic_config__ = DOCUMENTED

    daily_transactions: int
    """Checkouts today (store's local date)"""
    active_products: int
    low_stock_items: int
    """Products the stock policy calls out or low (siprems.inventory.policy)"""
    daily_revenue: Number
    items_sold_today: int


@dataclass
class TrendDay:
    __pydantic_config__ = DOCUMENTED

    date: str
    """Weekday label Mon..Sun"""
    sales: int
    """Units sold"""
    revenue: Number
    day: Day


@dataclass
class StockLine:
    product: str
    sku: str
    current: int
    optimal: int  # the policy's order-up-to stock
    avg_daily_demand: float
    status: Status
    reorder_point: float
    recommended_order: int


@dataclass
class DashboardStats:
    cards: Cards
    salesTrend: list[TrendDay]
    stockComparison: list[StockLine]
    date: date


@dataclass
class Period:
    start: date
    end: date


@dataclass
class PreviousPeriod(Period):
    totalRevenue: Number
    totalTransactions: int
    totalItemsSold: int


@dataclass
class Metrics:
    range: str
    totalRevenue: Number
    totalTransactions: int
    totalItemsSold: int
    revenueChange: float | None  # percent, one decimal; None when the previous period is zero
    transactionsChange: float | None
    itemsChange: float | None
    period: Period
    previous: PreviousPeriod


@dataclass
class ChartDay:
    date: date
    sales: int
    revenue: Number
    transactions_count: int


@dataclass
class CategorySales:
    __pydantic_config__ = DOCUMENTED

    category: str
    value: Number
    """Revenue"""
    units: int
    color: str


async def _daily(pool: Pool, locale: StoreLocale, first: date, last: date) -> dict[date, dict[str, Any]]:
    start, end = locale.days_window(first, last)
    rows = await fetch_all(pool, q.DAILY, {"store": locale.store_id, "tz": locale.timezone, "start": start, "end": end})
    return {row["day"]: row for row in rows}


async def dashboard_stats(pool: Pool, locale: StoreLocale) -> DashboardStats:
    """The frontend's DashboardResponse: cards, a 7-day unit trend (zero days
    included, weekday labels) and the most urgent products (stock policy) vs their target stock."""
    today = locale.today()
    start, _ = locale.days_window(today, today)
    positions = await inventory.store_stock(pool, locale.store_id, today=today)
    counts = inventory.counts(positions)
    first = today - timedelta(days=6)
    daily = await _daily(pool, locale, first, today)
    # Today's cards are the trend's last day (same local-day window): no query of their own.
    totals = daily.get(today) or {"transactions": 0, "units": 0, "revenue": Decimal(0)}
    trend = []
    for offset in range(7):
        day = first + timedelta(days=offset)
        row = daily.get(day)
        units, revenue = (int(row["units"]), row["revenue"]) if row else (0, Decimal(0))
        trend.append(TrendDay(WEEKDAYS[day.weekday()], units, revenue, day))
    since, _ = locale.days_window(today - timedelta(days=q.DEMAND_WINDOW_DAYS), today)
    urgent = positions[: q.STOCK_COMPARISON_SIZE]
    ids = [s.product_id for s in urgent]
    rows = await fetch_all(
        pool, q.SOLD_BY_PRODUCT, {"store": locale.store_id, "ids": ids, "since": since, "end": start}
    )
    sold = {row["product_id"]: float(row["sold"]) for row in rows}
    comparison = [
        StockLine(
            s.product["name"],
            s.product["sku"],
            s.position.stock,
            s.position.target_stock,
            round(sold.get(s.product_id, 0.0) / q.DEMAND_WINDOW_DAYS, 2),
            s.position.status,
            round(s.position.reorder_point, 1),
            s.position.recommended_order,
        )
        for s in urgent
    ]
    cards = Cards(
        totals["transactions"], len(positions), counts["low_stock_items"], totals["revenue"], int(totals["units"])
    )
    return DashboardStats(cards, trend, comparison, today)


def _change(current: Decimal | int, previous: Decimal | int) -> float | None:
    """Percent change, one decimal; None when there is nothing to compare with."""
    if not previous:
        return None
    change = (Decimal(current) - Decimal(previous)) * 100 / Decimal(previous)
    return float(change.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


async def metrics(pool: Pool, locale: StoreLocale, range_name: str) -> Metrics:
    days = RANGES[range_name]
    today = locale.today()
    first = today - timedelta(days=days - 1)
    prev_first, prev_last = first - timedelta(days=days), first - timedelta(days=1)
    prev_start, _ = locale.days_window(prev_first, prev_last)
    start, end = locale.days_window(first, today)
    rows = await fetch_all(
        pool, q.PERIOD_TOTALS, {"store": locale.store_id, "prev_start": prev_start, "start": start, "end": end}
    )
    zero: dict[str, Any] = {"transactions": 0, "items": 0, "revenue": Decimal(0)}
    now = next((r for r in rows if r["current"]), zero)
    before = next((r for r in rows if not r["current"]), zero)
    return Metrics(
        range_name,
        now["revenue"],
        int(now["transactions"]),
        int(now["items"]),
        _change(now["revenue"], before["revenue"]),
        _change(now["transactions"], before["transactions"]),
        _change(now["items"], before["items"]),
        Period(first, today),
        PreviousPeriod(prev_first, prev_last, before["revenue"], int(before["transactions"]), int(before["items"])),
    )


async def sales_chart(pool: Pool, locale: StoreLocale, days: int = CHART_DAYS) -> list[ChartDay]:
    """One point per local day (zero days included), oldest first."""
    today = locale.today()
    first = today - timedelta(days=days - 1)
    daily = await _daily(pool, locale, first, today)
    points = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row = daily.get(day)
        if row:
            points.append(ChartDay(day, int(row["units"]), row["revenue"], row["transactions"]))
        else:
            points.append(ChartDay(day, 0, Decimal(0), 0))
    return points


async def category_sales(pool: Pool, locale: StoreLocale, days: int = CHART_DAYS) -> list[CategorySales]:
    """Revenue per product category over the last `days` local days, largest first."""
    today = locale.today()
    start, end = locale.days_window(today - timedelta(days=days - 1), today)
    rows = await fetch_all(pool, q.CATEGORY_SALES, {"store": locale.store_id, "start": start, "end": end})
    return [
        CategorySales(row["category"], row["revenue"], int(row["units"]), PALETTE[i % len(PALETTE)])
        for i, row in enumerate(rows)
    ]
