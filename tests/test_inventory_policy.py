"""The stock policy (siprems/inventory/policy.py): worked examples computed by hand."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from siprems.inventory.policy import Incoming, StockItem, assess, days_of_cover

Z95 = 1.959963984540054
TODAY = date(2024, 1, 1)


def rows(yhat, sigma):
    """Forecast rows whose 95% interval is yhat +- 1.96 sigma (so sigma is read back exactly)."""
    return [
        {"date": f"2024-01-{i + 1:02d}", "yhat": y, "lo80": y, "hi80": y, "lo95": y - Z95 * s, "hi95": y + Z95 * s}
        for i, (y, s) in enumerate(zip(yhat, sigma, strict=True))
    ]


def test_worked_example_low_and_urgent():
    # 10/day, daily sigma 1; lead time 2; service level 95% (z = 1.6449); stock 15 < 20 needed over the lead time
    pos = assess(StockItem(15, 2, 0.95), rows([10] * 30, [1] * 30), today=TODAY)
    assert pos.basis == "forecast"
    assert pos.lead_time_demand == pytest.approx(20.0)
    assert pos.safety_stock == pytest.approx(1.644854 * math.sqrt(2), abs=1e-6)  # 2.326
    assert pos.reorder_point == pytest.approx(22.326, abs=1e-3)
    assert pos.status == "low"
    assert pos.days_of_cover == 1  # 10 <= 15 < 20
    assert pos.urgency == "high"  # runs out within the lead time
    assert pos.target_stock == math.ceil(10 * 16 + 2.326)  # lead time + 14 days + safety = 163
    assert pos.recommended_order == 163 - 15


def test_above_the_reorder_point_is_ok_and_orders_nothing():
    pos = assess(StockItem(100, 3, 0.95), rows([5] * 400, [0.5] * 400), today=TODAY)
    assert pos.status == "ok" and pos.urgency == "low"
    assert pos.recommended_order == 0
    assert pos.days_of_cover == 20  # 20 whole days x 5 = 100


def test_low_but_not_urgent_is_medium():
    # lead time 2 at 5/day, safety ~ 1.64 x sqrt(2) x 2: reorder point ~14.65; stock 14 lasts 2 whole days
    pos = assess(StockItem(14, 2, 0.95), rows([5] * 30, [2] * 30), today=TODAY)
    assert pos.status == "low" and pos.urgency == "medium" and pos.days_of_cover == 2


def test_out_of_stock():
    pos = assess(StockItem(0, 2, 0.95), rows([3] * 30, [0] * 30), today=TODAY)
    assert pos.status == "out" and pos.urgency == "high"
    assert pos.recommended_order == 3 * 16
    assert assess(StockItem(0), None, today=TODAY).status == "out"


def test_without_a_model_the_reorder_level_decides():
    assert assess(StockItem(1), None, today=TODAY).status == "low"  # default reorder level 5
    assert assess(StockItem(5), None, today=TODAY).status == "low"  # at the level counts as low
    assert assess(StockItem(6), None, today=TODAY).status == "ok"
    pos = assess(StockItem(6, reorder_level=8), None, today=TODAY)
    assert pos.status == "low" and pos.basis == "reorder_level"
    assert pos.recommended_order == 16 - 6  # up to twice the reorder level
    assert pos.days_of_cover is None and pos.safety_stock is None


def test_zero_demand_forecast_is_ok_and_outlasts_the_year():
    pos = assess(StockItem(3, 2, 0.95), rows([0] * 400, [0] * 400), today=TODAY)
    assert pos.status == "ok" and pos.days_of_cover is None and pos.recommended_order == 0


def test_incoming_within_the_lead_time_counts_as_stock():
    forecast = rows([10] * 400, [0] * 400)
    alone = assess(StockItem(15, 2, 0.95), forecast, today=TODAY)
    assert alone.status == "low"
    soon = [Incoming(20, TODAY + timedelta(days=1))]
    pos = assess(StockItem(15, 2, 0.95), forecast, today=TODAY, incoming=soon)
    assert pos.incoming == 20 and pos.status == "ok" and pos.recommended_order == 0
    assert pos.days_of_cover == 3  # 15 + 20 = 35 units cover 3 whole days of 10
    late = [Incoming(20, TODAY + timedelta(days=10))]
    pos = assess(StockItem(15, 2, 0.95), forecast, today=TODAY, incoming=late)
    assert pos.incoming == 0 and pos.status == "low"
    assert pos.recommended_order == 160 - 15
    assert pos.days_of_cover == 1  # runs out before the late delivery


def test_days_of_cover_edges():
    assert days_of_cover(20, [10, 10, 10]) == 2  # cumulative 20 is still covered
    assert days_of_cover(0, [1, 1]) == 0
    assert days_of_cover(5, [0, 0]) is None
    assert days_of_cover(0, [1, 1], [5, 0]) is None  # an arrival on day 0 covers it


def test_service_level_must_be_a_probability():
    with pytest.raises(ValueError, match="service_level"):
        assess(StockItem(1, service_level=1.0), None, today=TODAY)
