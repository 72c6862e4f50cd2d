"""Restock advice: worked examples computed by hand."""

from __future__ import annotations

import math

import pytest

from siprems.forecasting import restock_advice
from siprems.forecasting.restock import days_of_stock

Z95 = 1.959963984540054


def rows(yhat, sigma):
    """Forecast rows whose 95% interval is yhat +- 1.96 sigma (so sigma is read back exactly)."""
    return [
        {"date": f"2024-01-{i + 1:02d}", "yhat": y, "lo80": y, "hi80": y, "lo95": y - Z95 * s, "hi95": y + Z95 * s}
        for i, (y, s) in enumerate(zip(yhat, sigma))
    ]


def test_worked_example_high_urgency():
    # 10/day for 7 days, daily sigma 1; lead time 2; service level 95% (z = 1.6449)
    adv = restock_advice(15, rows([10] * 7, [1] * 7), horizon_days=7, lead_time_days=2, service_level=0.95)
    assert adv.predicted_demand == pytest.approx(70.0)
    assert adv.lead_time_demand == pytest.approx(20.0)
    assert adv.sigma_lead_time == pytest.approx(math.sqrt(2))  # sqrt(1 + 1)
    assert adv.z == pytest.approx(1.644854, abs=1e-6)
    assert adv.safety_stock == pytest.approx(1.644854 * math.sqrt(2), abs=1e-6)  # 2.326
    assert adv.reorder_point == pytest.approx(22.326, abs=1e-3)
    assert adv.recommended_restock == 58  # ceil(70 + 2.326 - 15)
    assert adv.days_of_stock_left == 1  # 10 <= 15 < 20
    assert adv.urgency == "high"  # runs out on day 2 <= lead 2


def test_worked_example_medium_urgency_uneven_sigma():
    # demand 4,6,8,10,12 ; sigmas 3,4 over the 2-day lead time -> sigma_LT = 5
    adv = restock_advice(
        20, rows([4, 6, 8, 10, 12], [3, 4, 1, 1, 1]), horizon_days=5, lead_time_days=2, service_level=0.90
    )
    assert adv.predicted_demand == pytest.approx(40.0)
    assert adv.lead_time_demand == pytest.approx(10.0)
    assert adv.sigma_lead_time == pytest.approx(5.0)
    assert adv.safety_stock == pytest.approx(1.281552 * 5.0, abs=1e-5)  # 6.408
    assert adv.reorder_point == pytest.approx(16.408, abs=1e-3)
    assert adv.recommended_restock == 27  # ceil(40 + 6.408 - 20)
    assert adv.days_of_stock_left == 3  # 4+6+8 = 18 <= 20 < 28
    assert adv.urgency == "medium"


def test_worked_example_low_urgency_no_restock():
    adv = restock_advice(100, rows([5] * 7, [0.5] * 7), horizon_days=7, lead_time_days=3)
    # safety stock = 1.6449 * sqrt(3 * 0.25) = 1.4245 ; 35 + 1.42 - 100 < 0
    assert adv.safety_stock == pytest.approx(1.644854 * math.sqrt(0.75), abs=1e-6)
    assert adv.recommended_restock == 0
    assert adv.days_of_stock_left is None  # outlasts the horizon
    assert adv.urgency == "low"


def test_exact_cover_and_zero_stock():
    assert days_of_stock(20, [10, 10, 10]) == 2  # cumulative 20 is still covered
    assert days_of_stock(0, [1, 1]) == 0
    assert days_of_stock(5, [0, 0]) is None
    adv = restock_advice(0, rows([3, 3], [0, 0]), horizon_days=2)
    assert adv.recommended_restock == 6 and adv.safety_stock == 0 and adv.urgency == "high"


def test_accepts_model_forecast_rows_and_dict_of_lists():
    d = {"yhat": [2.0, 2.0, 2.0], "lo95": [0.04, 0.04, 0.04], "hi95": [3.96, 3.96, 3.96]}
    adv = restock_advice(1, d, horizon_days=3, lead_time_days=1)
    assert adv.sigma_lead_time == pytest.approx(1.96 / Z95)
    assert adv.recommended_restock == math.ceil(6 + 1.644854 * 1.96 / Z95 - 1)
    assert adv.to_dict()["urgency"] == "high"


def test_horizon_longer_than_forecast_uses_available_rows():
    adv = restock_advice(0, rows([1, 1, 1], [0, 0, 0]), horizon_days=10)
    assert adv.horizon_days == 3 and adv.predicted_demand == 3


def test_bad_service_level():
    with pytest.raises(ValueError):
        restock_advice(1, rows([1], [1]), service_level=1.0)
