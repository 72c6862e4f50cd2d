"""The answer to "what will this product sell?": chart points over the
history window and the horizon (from today, not from the last sale), restock
advice, and accuracy measured on the model's holdout (not in-sample)."""

from __future__ import annotations

from datetime import date, timedelta

from siprems.db import fetch_all, fetch_one
from siprems.forecasting import ForecastModel, holiday_names, registry
from siprems.forecasting.service import StoreContext, chosen_holdout, store_context, store_events
from siprems.inventory.policy import COVER_HORIZON_DAYS, assess
from siprems.inventory.restock import recommendation
from siprems.inventory.stock import ProductStock, incoming_stock, item_of

STALE_AFTER_DAYS = 7  # a model that has not seen the last week is refreshed in the background

PRODUCT = """SELECT product_id, sku, name, category, stock, lead_time_days, service_level, reorder_level
             FROM products WHERE store_id = %s AND sku = %s"""


def is_stale(model_row: dict, today: date) -> bool:
    start = date.fromisoformat(model_row["model"]["start"])
    return (today - start).days > STALE_AFTER_DAYS


async def product_by_sku(pool, store_id: int, sku: str) -> dict | None:
    return await fetch_one(pool, PRODUCT, (store_id, sku))


async def _history(pool, store: StoreContext, product_id: int, start: date, end: date) -> dict[date, float]:
    rows = await fetch_all(
        pool,
        """SELECT (transaction_date AT TIME ZONE %s)::date AS day, sum(quantity_sold) AS qty
           FROM transactions
           WHERE store_id = %s AND product_id = %s
             AND transaction_date >= (%s::date - 1) AND transaction_date < (%s::date + 2)
           GROUP BY 1""",
        (store.timezone, store.store_id, product_id, start, end),
    )
    return {r["day"]: float(r["qty"]) for r in rows if start <= r["day"] <= end}


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


async def answer(
    pool,
    store_id: int,
    sku: str,
    days: int,
    history_days: int = 90,
    *,
    product: dict | None = None,
    model_row: dict | None = None,
) -> dict:
    """Compose the contract's `/api/predict` body from the stored model."""
    store = await store_context(pool, store_id)
    product = product or await product_by_sku(pool, store_id, sku)
    model_row = model_row or await registry.latest(pool, store_id, product["product_id"])
    model = ForecastModel.from_dict(model_row["model"])
    today = store.today
    first = today - timedelta(days=history_days)
    last = today + timedelta(days=days - 1)
    history = await _history(pool, store, product["product_id"], first, today - timedelta(days=1))
    events = await store_events(pool, store_id)
    flags = {
        f["date"]: f for f in holiday_names(first, last, country=store.country, subdiv=store.subdivision, events=events)
    }
    rows = {r["date"]: r for r in model.forecast(today, days)}
    chart = []
    day = first
    while day <= last:
        iso = day.isoformat()
        row = rows.get(iso)
        flag = flags.get(iso, {})
        chart.append(
            {
                "date": iso,
                "historical": history.get(day, 0.0) if day < today else None,
                "predicted": _round(row["yhat"]) if row else None,
                "lower": _round(row["lo95"]) if row else None,
                "upper": _round(row["hi95"]) if row else None,
                "lower80": _round(row["lo80"]) if row else None,
                "upper80": _round(row["hi80"]) if row else None,
                "isHoliday": bool(flag.get("isHoliday")),
                "holidayName": flag.get("holidayName"),
            }
        )
        day += timedelta(days=1)
    # The stock policy decides (siprems.inventory); this forecast is its demand input.
    year = model.forecast(today, COVER_HORIZON_DAYS)
    incoming = await incoming_stock(pool, store_id, [product["product_id"]])
    position = assess(item_of(product), year, today=today, incoming=incoming.get(product["product_id"], ()))
    recommendation_row = recommendation(ProductStock(product, position, year, model_row["version"]), days)
    holdout = chosen_holdout(model_row["model"])
    wape = holdout.get("wape")  # percent
    return {
        "product_sku": product["sku"],
        "forecast_days": days,
        "history_days": history_days,
        "today": today.isoformat(),
        "chartData": chart,
        "recommendations": [recommendation_row],
        **{
            k: recommendation_row[k]
            for k in ("safetyStock", "reorderPoint", "daysOfStock", "leadTimeDays", "serviceLevel")
        },
        "accuracy": None if wape is None else round(max(0.0, min(100.0, 100.0 - float(wape))), 1),
        "model": {
            "model_id": model_row["model_id"],
            "version": model_row["version"],
            "method": model.method,
            "trained_at": model_row["trained_at"],
            "train_start": model.train_start,
            "train_end": model.train_end,
            "holdout": holdout,
            "stale": is_stale(model_row, today),
        },
    }
