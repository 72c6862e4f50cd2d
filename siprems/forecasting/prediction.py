"""The answer to "what will this product sell?": chart points over the
history window and the horizon (from today, not from the last sale), restock
advice, and accuracy measured on the model's holdout (not in-sample)."""

from __future__ import annotations

from datetime import date, timedelta

from siprems.db import fetch_all, fetch_one
from siprems.errors import NotFound
from siprems.forecasting import ForecastModel, baseline, holiday_names, registry, restock_advice
from siprems.forecasting.calendar import to_date
from siprems.forecasting.restock import days_of_stock
from siprems.forecasting.service import StoreContext, chosen_holdout, closed_weekdays, store_context, store_events

STALE_AFTER_DAYS = 7  # a model that has not seen the last week is refreshed in the background

PRODUCT = """SELECT product_id, sku, name, stock, lead_time_days, service_level
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


async def model_view(pool, store_id: int, product: dict, days: int, history_days: int = 90) -> dict:
    """The stock-independent part of a `/api/predict` body from the newest stored
    model: chart, model facts, accuracy, and the forecast rows the advice needs.
    Cached by model id; `compose` adds the stock-dependent advice per request."""
    model_row = await registry.latest(pool, store_id, product["product_id"])
    if model_row is None:
        return await baseline_view(pool, store_id, product, days, history_days)
    model = ForecastModel.from_dict(model_row["model"])
    store = await store_context(pool, store_id)
    holdout = chosen_holdout(model_row["model"])
    wape = holdout.get("wape")  # percent
    facts = {
        "model_id": model_row["model_id"],
        "version": model_row["version"],
        "method": model.method,
        "provisional": False,
        "trained_at": model_row["trained_at"],
        "train_start": model.train_start,
        "train_end": model.train_end,
        "holdout": holdout,
        "stale": is_stale(model_row, store.today),
    }
    accuracy = None if wape is None else round(max(0.0, min(100.0, 100.0 - float(wape))), 1)
    return await _view(pool, store, product, model, days, history_days, facts, accuracy)


async def baseline_view(pool, store_id: int, product: dict, days: int, history_days: int = 90) -> dict:
    """Like `model_view`, from the provisional weekday-mean baseline (no model yet)."""
    store = await store_context(pool, store_id)
    today = store.today
    since = today - timedelta(days=7 * baseline.WEEKS)
    shut = await closed_weekdays(pool, store_id)
    sales = await _history(pool, store, product["product_id"], since, today - timedelta(days=1))
    events = await store_events(pool, store_id)
    closed = {to_date(e["date"]) for e in events if e.get("kind") == "store-closed"}
    model = baseline.baseline_model(sales, closed, shut, today)
    facts = {
        "model_id": None,
        "version": None,
        "method": model.method,
        "provisional": True,
        "trained_at": None,
        "train_start": model.train_start,
        "train_end": model.train_end,
        "holdout": {},
        "stale": False,
        "message": "Provisional forecast (weekday means of recent weeks); the product's model is being trained.",
    }
    return await _view(pool, store, product, model, days, history_days, facts, None, events=events)


async def _view(
    pool,
    store: StoreContext,
    product: dict,
    model: ForecastModel,
    days: int,
    history_days: int,
    facts: dict,
    accuracy: float | None,
    events: list[dict] | None = None,
) -> dict:
    today = store.today
    first = today - timedelta(days=history_days)
    last = today + timedelta(days=days - 1)
    history = await _history(pool, store, product["product_id"], first, today - timedelta(days=1))
    if events is None:
        events = await store_events(pool, store.store_id)
    flags = {
        f["date"]: f for f in holiday_names(first, last, country=store.country, subdiv=store.subdivision, events=events)
    }
    horizon = model.forecast(today, days)
    rows = {r["date"]: r for r in horizon}
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
    return {
        "product_sku": product["sku"],
        "forecast_days": days,
        "history_days": history_days,
        "today": today.isoformat(),
        "chartData": chart,
        "accuracy": accuracy,
        "model": facts,
        # For `compose` (not sent): the unrounded horizon rows and a year of daily demand.
        "_horizon": horizon,
        "_year": [r["yhat"] for r in model.forecast(today, 365)],
    }


def compose(product: dict, view: dict) -> dict:
    """The contract's `/api/predict` body: a view plus the advice for the product's current stock."""
    days = view["forecast_days"]
    advice = restock_advice(
        product["stock"],
        view["_horizon"],
        horizon_days=days,
        lead_time_days=product["lead_time_days"],
        service_level=float(product["service_level"]),
    )
    # Days of stock over the whole stored year, not just the requested horizon.
    days_left = days_of_stock(product["stock"], view["_year"])
    recommendation = {
        "productId": product["product_id"],
        "sku": product["sku"],
        "productName": product["name"],
        "currentStock": product["stock"],
        "predictedDemand": round(advice.predicted_demand),
        "recommendedRestock": advice.recommended_restock,
        "urgency": advice.urgency,
        "safetyStock": round(advice.safety_stock, 1),
        "reorderPoint": round(advice.reorder_point, 1),
        "leadTimeDemand": round(advice.lead_time_demand, 1),
        "daysOfStock": days_left,
        "leadTimeDays": advice.lead_time_days,
        "serviceLevel": advice.service_level,
    }
    body = {k: v for k, v in view.items() if not k.startswith("_")}
    body["recommendations"] = [recommendation]
    for k in ("safetyStock", "reorderPoint", "daysOfStock", "leadTimeDays", "serviceLevel"):
        body[k] = recommendation[k]
    return body


async def answer(pool, store_id: int, sku: str, days: int, history_days: int = 90) -> dict:
    """The whole `/api/predict` body, uncached (the async job's result)."""
    product = await product_by_sku(pool, store_id, sku)
    if product is None:
        raise NotFound(f"Product with SKU {sku} not found", code="product_not_found")
    return compose(product, await model_view(pool, store_id, product, days, history_days))


async def restock_overview(pool, store_id: int, horizon_days: int = 14) -> list[dict]:
    """Every product of the store with restock advice, most urgent first."""
    store = await store_context(pool, store_id)
    today = store.today
    products = await fetch_all(
        pool,
        """SELECT p.product_id, p.sku, p.name, p.category, p.stock, p.lead_time_days, p.service_level,
                  m.model, m.version
           FROM products p
           LEFT JOIN LATERAL (SELECT model, version FROM forecast_models f
                              WHERE f.product_id = p.product_id ORDER BY version DESC LIMIT 1) m ON TRUE
           WHERE p.store_id = %s AND NOT p.is_archived""",
        (store_id,),
    )
    out = []
    for p in products:
        if p["model"] is None:
            out.append(
                {
                    "productId": p["product_id"],
                    "sku": p["sku"],
                    "productName": p["name"],
                    "category": p["category"],
                    "currentStock": p["stock"],
                    "predictedDemand": None,
                    "recommendedRestock": None,
                    "urgency": "unknown",
                    "safetyStock": None,
                    "reorderPoint": None,
                    "daysOfStock": None,
                    "leadTimeDays": p["lead_time_days"],
                    "serviceLevel": float(p["service_level"]),
                    "modelVersion": None,
                    "message": "No forecast yet: train this product (POST /api/tasks/training/product/<sku>).",
                }
            )
            continue
        model = ForecastModel.from_dict(p["model"])
        rows = model.forecast(today, horizon_days)
        advice = restock_advice(
            p["stock"],
            rows,
            horizon_days=horizon_days,
            lead_time_days=p["lead_time_days"],
            service_level=float(p["service_level"]),
        )
        out.append(
            {
                "productId": p["product_id"],
                "sku": p["sku"],
                "productName": p["name"],
                "category": p["category"],
                "currentStock": p["stock"],
                "predictedDemand": round(advice.predicted_demand),
                "recommendedRestock": advice.recommended_restock,
                "urgency": advice.urgency,
                "safetyStock": round(advice.safety_stock, 1),
                "reorderPoint": round(advice.reorder_point, 1),
                "daysOfStock": advice.days_of_stock_left,
                "leadTimeDays": advice.lead_time_days,
                "serviceLevel": advice.service_level,
                "modelVersion": p["version"],
            }
        )
    rank = {"high": 0, "medium": 1, "low": 2, "unknown": 3}
    out.sort(key=lambda r: (rank[r["urgency"]], r["daysOfStock"] if r["daysOfStock"] is not None else 10**6, r["sku"]))
    return out
