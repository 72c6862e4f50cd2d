"""Every date a client sends is bounded (years 1900-2200) and a date outside
answers 400 naming the field: `GET /api/transactions?end_date=9999-12-31` once
answered 500 (OverflowError turning the day into a time-zone window)."""

from __future__ import annotations

import pytest


def _assert_400_naming(r, field: str) -> None:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] == "validation_error" and field in body["message"], body


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", "2201-01-01", "1899-12-31"])
@pytest.mark.parametrize(
    "path, field",
    [
        ("/api/transactions", "end_date"),
        ("/api/transactions", "start_date"),
        ("/api/events", "start"),
        ("/api/events", "end"),
        ("/api/stock/movements", "from"),
        ("/api/stock/movements", "to"),
    ],
)
def test_query_dates_outside_the_years_are_400(shared_user, path, field, value):
    _assert_400_naming(shared_user.get(path, params={field: value}), field)


def test_dates_at_the_bounds_are_served(shared_user):
    r = shared_user.get("/api/transactions", params={"start_date": "1900-01-01", "end_date": "2200-12-31"})
    assert r.status_code == 200, r.text
    assert shared_user.get("/api/events", params={"start": "2200-01-01", "end": "2200-12-31"}).status_code == 200


@pytest.mark.parametrize("when", ["9999-12-31", "9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00"])
def test_sale_dates_outside_the_years_are_400(shared_user, when):
    body = {"product_sku": "NO-SUCH-SKU", "quantity": 1, "transaction_date": when}
    _assert_400_naming(shared_user.post("/api/transactions", json=body), "transaction_date")


def test_event_dates_outside_the_years_are_400(shared_user):
    r = shared_user.post("/api/events", json={"name": "Far", "date": "9999-12-31", "type": "promotion"})
    _assert_400_naming(r, "date")
