"""`/api/settings`: the caller's store and its opening hours (the settings
page's day map), validation of every field, and per-store isolation."""

from __future__ import annotations

import pytest

from test_products_api import assert_error

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
STORE_FIELDS = {
    "store_id",
    "user_id",
    "name",
    "address",
    "country",
    "subdivision",
    "timezone",
    "currency",
    "created_at",
    "updated_at",
}


def test_registered_user_has_a_store_with_default_hours(user):
    r = user.get("/api/settings/store")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body["store"]) == STORE_FIELDS
    assert body["store"]["user_id"] == user.user_id
    assert (body["store"]["country"], body["store"]["timezone"], body["store"]["currency"]) == (
        "ID",
        "Asia/Jakarta",
        "IDR",
    )
    assert list(body["opening_hours"]) == DAYS
    assert body["opening_hours"]["Monday"] == {"open": "08:00", "close": "21:00", "closed": False}
    assert user.get("/api/settings/operating-hours").json() == body["opening_hours"]


def test_post_updates_the_one_store(user):
    store_id = user.get("/api/settings/store").json()["store"]["store_id"]
    r = user.post("/api/settings/store", json={"name": "Toko Maju", "address": "Jl. Merdeka 1"})
    assert r.status_code == 200, r.text
    store = r.json()["store"]
    assert (store["store_id"], store["name"], store["address"]) == (store_id, "Toko Maju", "Jl. Merdeka 1")
    assert_error(user.post("/api/settings/store", json={"address": "x"}), 400, "name", "required")


def test_put_changes_only_given_fields(user):
    user.post("/api/settings/store", json={"name": "A", "address": "Addr"})
    r = user.put(
        "/api/settings/store", json={"country": "sg", "timezone": "Asia/Singapore", "currency": "sgd", "address": None}
    )
    assert r.status_code == 200, r.text
    store = r.json()["store"]
    assert (store["name"], store["address"], store["country"], store["timezone"], store["currency"]) == (
        "A",
        "Addr",
        "SG",
        "Asia/Singapore",
        "SGD",
    )
    assert store["updated_at"] >= store["created_at"]
    assert user.get("/api/settings/store").json()["store"] == store


def test_subdivision_must_belong_to_the_country(user):
    r = user.put("/api/settings/store", json={"country": "US", "subdivision": "CA"})
    assert r.status_code == 200 and r.json()["store"]["subdivision"] == "CA"
    assert_error(user.put("/api/settings/store", json={"subdivision": "ZZ"}), 400, "subdivision")
    # a new country drops the old country's region
    assert user.put("/api/settings/store", json={"country": "ID"}).json()["store"]["subdivision"] is None


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": ""}, "name"),
        ({"name": "n" * 256}, "name"),
        ({"name": 5}, "name"),
        ({"address": "a" * 501}, "address"),
        ({"country": "XX"}, "country"),
        ({"country": "IDN"}, "country"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../etc/passwd"}, "timezone"),
        ({"currency": "RP"}, "currency"),
        ({"currency": "12$"}, "currency"),
        ({"owner": "me"}, "owner"),
        ({"store_id": 1}, "store_id"),
    ],
)
def test_store_fields_are_validated(user, body, field):
    assert_error(user.put("/api/settings/store", json=body), 400, field)


def test_operating_hours_partial_update_keeps_closed_days_times(user):
    r = user.put(
        "/api/settings/operating-hours",
        json={
            "opening_hours": {
                "Monday": {"open": "09:30", "close": "17:00", "closed": False},
                "sunday": {"closed": True},
            }
        },
    )
    assert r.status_code == 200, r.text
    hours = r.json()["opening_hours"]
    assert hours["Monday"] == {"open": "09:30", "close": "17:00", "closed": False}
    assert hours["Sunday"] == {"open": "08:00", "close": "21:00", "closed": True}  # strings, never null
    assert hours["Tuesday"] == {"open": "08:00", "close": "21:00", "closed": False}
    # the bare day map and the page's camelCase key work too; reopening restores the kept times
    assert user.put("/api/settings/operating-hours", json={"Sunday": {"closed": False}}).status_code == 200
    assert user.get("/api/settings/operating-hours").json()["Sunday"] == {
        "open": "08:00",
        "close": "21:00",
        "closed": False,
    }
    r = user.put("/api/settings/operating-hours", json={"openingHours": {"Friday": {"open": "07:00"}}})
    assert r.json()["opening_hours"]["Friday"]["open"] == "07:00"


@pytest.mark.parametrize(
    "body, words",
    [
        ({"opening_hours": {"Monday": {"open": "9:00"}}}, ("opening_hours.Monday.open", "HH:MM")),
        ({"opening_hours": {"Monday": {"close": "24:00"}}}, ("close",)),
        ({"opening_hours": {"Monday": {"open": "18:00", "close": "09:00"}}}, ("Monday", "before close")),
        ({"opening_hours": {"Monday": {"open": "10:00", "close": "10:00"}}}, ("Monday",)),
        ({"opening_hours": {"Funday": {"closed": True}}}, ("Funday", "day name")),
        ({"opening_hours": {"Monday": {"closed": "nope"}}}, ("closed",)),
        ({"opening_hours": {"Monday": {"open": "09:00", "lunch": "12:00"}}}, ("lunch",)),
        ({"opening_hours": {"Monday": "09:00-17:00"}}, ("Monday",)),
        ({"opening_hours": {}}, ("opening_hours",)),
        ({}, ("opening_hours",)),
        ({"opening_hours": [1]}, ("opening_hours",)),
    ],
)
def test_operating_hours_are_validated(user, body, words):
    assert_error(user.put("/api/settings/operating-hours", json=body), 400, *words)
    assert user.get("/api/settings/operating-hours").json()["Monday"] == {
        "open": "08:00",
        "close": "21:00",
        "closed": False,
    }


def test_a_closed_day_may_keep_any_times(user):
    r = user.put("/api/settings/operating-hours", json={"Monday": {"open": "18:00", "close": "09:00", "closed": True}})
    assert r.status_code == 200, r.text
    assert_error(user.put("/api/settings/operating-hours", json={"Monday": {"closed": False}}), 400, "Monday")


@pytest.mark.parametrize("method", ["put", "post"])
def test_save_all_takes_the_settings_page_state(user, method):
    state = {
        "storeName": "Toko Sejahtera",
        "storeAddress": "Jl. Sudirman 5",
        "openingHours": {day: {"open": "07:00", "close": "22:00", "closed": day == "Sunday"} for day in DAYS},
    }
    r = getattr(user, method)("/api/settings/save-all", json=state)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["store"]["name"] == "Toko Sejahtera" and body["store"]["address"] == "Jl. Sudirman 5"
    assert body["opening_hours"] == state["openingHours"]
    assert user.get("/api/settings/store").json()["opening_hours"] == state["openingHours"]


def test_save_all_is_all_or_nothing(user):
    r = user.put(
        "/api/settings/save-all",
        json={
            "name": "Changed",
            "opening_hours": {"Monday": {"open": "10:00"}, "Tuesday": {"open": "23:00", "close": "01:00"}},
        },
    )
    assert_error(r, 400, "Tuesday")
    body = user.get("/api/settings/store").json()
    assert body["store"]["name"] != "Changed" and body["opening_hours"]["Monday"]["open"] == "08:00"
    assert_error(user.put("/api/settings/save-all", json={"name": "x", "storeName": "y"}), 400, "storeName")
    assert_error(user.put("/api/settings/save-all", json={"storeTheme": "dark"}), 400, "storeTheme")


def test_routes_require_a_token(client):
    for method, path in [
        ("GET", "/api/settings/store"),
        ("POST", "/api/settings/store"),
        ("PUT", "/api/settings/store"),
        ("GET", "/api/settings/operating-hours"),
        ("PUT", "/api/settings/operating-hours"),
        ("PUT", "/api/settings/save-all"),
        ("POST", "/api/settings/save-all"),
    ]:
        assert_error(client.request(method, path, json={}), 401)


def test_each_user_sees_and_changes_only_their_store(make_user):
    a, b = make_user(), make_user()
    a.put("/api/settings/save-all", json={"name": "A's shop", "opening_hours": {"Monday": {"closed": True}}})
    b_view = b.get("/api/settings/store").json()
    assert b_view["store"]["name"] != "A's shop" and b_view["opening_hours"]["Monday"]["closed"] is False
    assert b_view["store"]["store_id"] != a.get("/api/settings/store").json()["store"]["store_id"]
    b.put("/api/settings/store", json={"name": "B's shop"})
    assert a.get("/api/settings/store").json()["store"]["name"] == "A's shop"
