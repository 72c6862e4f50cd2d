"""`/api/events`: the frontend's calendar calls, public holidays from the
`holidays` package, full update, validation and tenancy."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
import redis

from siprems import keys
from siprems.calendar.holidays import holiday_name, public_holidays
from support_sales import (
    JAKARTA,
    anonymous,
    assert_error,
    store_of,
)

THIS_YEAR = datetime.now(JAKARTA).year
FRONTEND_BODY = {
    "name": "Promo Gajian",
    "date": "2026-05-25",
    "type": "promotion",
    "description": "",
    "includeInPrediction": True,
}
EVENT_FIELDS = {"event_id", "event_name", "event_date", "type", "description", "include_in_prediction", "created_at"}


def test_create_with_the_frontends_body_returns_the_bare_event(user):
    r = user.post("/api/events", json=FRONTEND_BODY)
    assert r.status_code == 201, r.text
    event = r.json()
    assert set(event) >= EVENT_FIELDS
    assert isinstance(event["event_id"], int)
    assert event["event_name"] == "Promo Gajian" and event["event_date"] == "2026-05-25"
    assert event["type"] == "promotion" and event["description"] == ""
    assert event["include_in_prediction"] is True
    assert event["is_public_holiday"] is False and event["deletable"] is True
    listed = user.get("/api/events").json()
    assert event in listed


def test_earlier_backend_field_names_work_too(user):
    r = user.post(
        "/api/events",
        json={
            "event_name": "Tutup",
            "event_date": "2026-12-31",
            "type": "store-closed",
            "include_in_prediction": False,
            "description": None,
        },
    )
    assert r.status_code == 201, r.text
    e = r.json()
    assert (e["event_name"], e["event_date"], e["type"], e["include_in_prediction"], e["description"]) == (
        "Tutup",
        "2026-12-31",
        "store-closed",
        False,
        None,
    )


def test_list_is_a_bare_array_with_public_holidays_of_this_year_and_next(user):
    events = user.get("/api/events").json()
    assert isinstance(events, list)
    holidays = [e for e in events if e["is_public_holiday"]]
    for year in (THIS_YEAR, THIS_YEAR + 1):
        independence = f"ph-{year}-08-17"
        match = [e for e in holidays if e["event_id"] == independence]
        assert match and match[0]["event_date"] == f"{year}-08-17" and match[0]["type"] == "holiday"
        assert match[0]["deletable"] is False
    assert not [e for e in holidays if e["event_date"] < f"{THIS_YEAR}-01-01"]
    assert not [e for e in holidays if e["event_date"] > f"{THIS_YEAR + 1}-12-31"]
    for e in events:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", e["event_date"])
        assert e["type"] in ("promotion", "holiday", "store-closed")
        assert isinstance(e["event_name"], str)
    dates = [e["event_date"] for e in events]
    assert dates == sorted(dates, reverse=True)


def test_range_filters_store_events_and_holidays(user):
    inside = user.post("/api/events", json={**FRONTEND_BODY, "date": "2030-08-10"}).json()
    outside = user.post("/api/events", json={**FRONTEND_BODY, "date": "2030-09-10"}).json()
    got = user.get("/api/events", params={"start": "2030-08-01", "end": "2030-08-31"}).json()
    ids = [e["event_id"] for e in got]
    assert inside["event_id"] in ids and outside["event_id"] not in ids
    assert "ph-2030-08-17" in ids
    assert all("2030-08-01" <= e["event_date"] <= "2030-08-31" for e in got)
    later = user.get("/api/events", params={"start": "2030-09-01"}).json()
    assert outside["event_id"] in [e["event_id"] for e in later]
    assert inside["event_id"] not in [e["event_id"] for e in later]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"start": "2026-02-30"}, "start"),
        ({"end": "tomorrow"}, "end"),
        ({"start": "2026-03-01", "end": "2026-02-01"}, "end"),
        ({"start": "1800-01-01"}, "start"),
        ({"start": "2000-01-01", "end": "2030-01-01"}, "10 years"),
    ],
)
def test_bad_ranges_are_400(shared_user, params, field):
    assert_error(shared_user.get("/api/events", params=params), 400, field)


def test_get_update_and_delete_a_store_event(user):
    created = user.post("/api/events", json=FRONTEND_BODY).json()
    eid = created["event_id"]
    assert user.get(f"/api/events/{eid}").json() == created
    r = user.put(
        f"/api/events/{eid}",
        json={
            "name": "Promo Besar",
            "date": "2026-06-01",
            "type": "holiday",
            "description": "Diskon",
            "includeInPrediction": False,
        },
    )
    assert r.status_code == 200, r.text
    updated = r.json()
    assert (
        updated["event_id"],
        updated["event_name"],
        updated["event_date"],
        updated["type"],
        updated["description"],
        updated["include_in_prediction"],
    ) == (eid, "Promo Besar", "2026-06-01", "holiday", "Diskon", False)
    # A full update: omitted optional fields go back to their defaults.
    r = user.put(f"/api/events/{eid}", json={"name": "Promo", "date": "2026-06-02", "type": "promotion"})
    assert r.json()["description"] is None and r.json()["include_in_prediction"] is True
    r = user.delete(f"/api/events/{eid}")
    assert r.status_code == 200 and r.json() == {"message": "Event deleted successfully"}
    assert_error(user.get(f"/api/events/{eid}"), 404, str(eid))
    assert_error(user.delete(f"/api/events/{eid}"), 404)
    assert_error(user.put(f"/api/events/{eid}", json=FRONTEND_BODY), 404)


def test_a_store_created_holiday_event_can_be_deleted(user):
    created = user.post("/api/events", json={**FRONTEND_BODY, "type": "holiday", "name": "Hari Jadi Kota"}).json()
    assert user.delete(f"/api/events/{created['event_id']}").status_code == 200


def test_public_holidays_can_be_read_but_not_changed(user):
    ph = f"ph-{THIS_YEAR}-08-17"
    r = user.get(f"/api/events/{ph}")
    assert r.status_code == 200 and r.json()["is_public_holiday"] is True
    assert r.json()["event_date"] == f"{THIS_YEAR}-08-17"
    assert_error(user.delete(f"/api/events/{ph}"), 403, "Public holidays")
    assert_error(user.put(f"/api/events/{ph}", json=FRONTEND_BODY), 403, "Public holidays")
    assert user.get(f"/api/events/{ph}").status_code == 200
    # Not a holiday, or not an id at all: plain 404s.
    for bad in (f"ph-{THIS_YEAR}-08-18", "ph-2026-13-01", "abc", "99999999999999999999999", "-1", "0", "²", "١٢"):
        assert_error(user.get(f"/api/events/{bad}"), 404)
        assert_error(user.delete(f"/api/events/{bad}"), 404)


def test_holidays_follow_the_stores_country(user, db, stack):
    store = store_of(db, user)
    cache = redis.Redis(port=stack.ports.redis)

    def set_country(code: str) -> None:
        # Out of band (not through /api/settings, which validates the code):
        # bump the store's cache generation as the settings write does.
        with db.cursor() as cur:
            cur.execute("UPDATE stores SET country = %s WHERE store_id = %s", (code, store))
        cache.incr(keys.cache_generation(store, "settings"))

    set_country("DE")
    ids = [e["event_id"] for e in user.get("/api/events").json()]
    assert f"ph-{THIS_YEAR}-10-03" in ids and f"ph-{THIS_YEAR}-08-17" not in ids
    set_country("XX")
    cache.close()
    r = user.get("/api/events")
    assert r.status_code == 200 and not [e for e in r.json() if e["is_public_holiday"]]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"type": "custom"}, "type"),
        ({"type": None}, "type"),
        ({"date": "2026-02-30"}, "date"),
        ({"date": "2026-05-25T00:00:00"}, "date"),
        ({"date": "25/05/2026"}, "date"),
        ({"date": 20260525}, "date"),
        ({"date": "0999-01-01"}, "date"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"description": "x" * 1001}, "description"),
        ({"includeInPrediction": "yes"}, "includeInPrediction"),
        ({"colour": "red"}, "colour"),
        ({"name": "a\x00b"}, "name"),
        ({"description": "nul\x00"}, "description"),
        ({"event_name": "both names"}, "event_name"),
    ],
)
def test_bad_event_bodies_are_400_naming_the_field(shared_user, change, field):
    body = {**FRONTEND_BODY, **change}
    assert_error(shared_user.post("/api/events", json=body), 400, field)


def test_missing_fields_are_named(shared_user):
    for missing in ("name", "date", "type"):
        body = {k: v for k, v in FRONTEND_BODY.items() if k != missing}
        assert_error(shared_user.post("/api/events", json=body), 400, missing)


def test_another_stores_event_is_404_and_untouched(user, make_user):
    mine = user.post("/api/events", json=FRONTEND_BODY).json()
    other = make_user()
    eid = mine["event_id"]
    assert_error(other.get(f"/api/events/{eid}"), 404)
    assert_error(other.put(f"/api/events/{eid}", json={**FRONTEND_BODY, "name": "hijack"}), 404)
    assert_error(other.delete(f"/api/events/{eid}"), 404)
    assert eid not in [e["event_id"] for e in other.get("/api/events").json()]
    assert user.get(f"/api/events/{eid}").json() == mine


def test_requires_a_token(client):
    assert_error(anonymous(client, "GET", "/api/events"), 401)
    assert_error(anonymous(client, "POST", "/api/events", json=FRONTEND_BODY), 401)
    assert_error(anonymous(client, "DELETE", "/api/events/1"), 401)


def test_public_holidays_module_for_forecasting_and_chat():
    found = public_holidays("ID", date(2026, 1, 1), date(2026, 12, 31))
    assert (date(2026, 8, 17), "Independence Day") in found
    assert [d for d, _ in found] == sorted(d for d, _ in found)
    assert all(date(2026, 1, 1) <= d <= date(2026, 12, 31) for d, _ in found)
    assert public_holidays("ID", date(2026, 8, 18), date(2026, 8, 16)) == []
    assert public_holidays("XX", date(2026, 1, 1), date(2026, 12, 31)) == []
    assert public_holidays(None, date(2026, 1, 1), date(2026, 12, 31)) == []
    assert holiday_name("id", date(2026, 8, 17)) == "Independence Day"
    assert holiday_name("ID", date(2026, 8, 18)) is None
    assert public_holidays("ID", date(2026, 1, 1), date(2026, 12, 31), subdivision="NOPE") == found
