"""Exports: CSV and JSON streamed from server-side cursors (memory measured on
the API processes while the demo shop's two years of sales stream out),
formula cells neutralised, and a round trip through the import routes that
gives back the same data; date ranges, bad input, store isolation."""

from __future__ import annotations

import csv
import io
import os
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import psycopg2
import psycopg2.extras
import pytest

from siprems.demo.seed import DEMO_EMAIL, DEMO_PASSWORD, seed
from support_purchasing import supplier
from support_sales import add_product, add_sale, assert_error, store_of

TRICKY = [
    ("FX-1", '=HYPERLINK("http://x")', "+cmd", "-1 variation", "@SUM(A1)"),
    ("FX-2", "Tab\tinside", "Snacks", None, 'line one\nline two, with "quotes"'),
    ("FX-3", "'quoted already", "Carriage", "ok", None),
    ("FX-4", "Plain name", "Drinks", None, "'=still text"),
]


def _csv(r: httpx.Response) -> list[dict]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(r.text)))


def _raw_cells(r: httpx.Response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(r.text)))


@pytest.fixture()
def shop(user, db):
    store = store_of(db, user)
    ids = {}
    with db.cursor() as cur:
        for sku, name, category, variation, description in TRICKY:
            cur.execute(
                """INSERT INTO products (store_id, sku, name, category, variation, description, price, cost_price,
                                         stock, lead_time_days, service_level, is_archived)
                   VALUES (%s, %s, %s, %s, %s, %s, 12500.50, 9000, 7, 4, 0.9, %s) RETURNING product_id""",
                (store, sku, name, category, variation, description, sku == "FX-4"),
            )
            ids[sku] = cur.fetchone()["product_id"]
    start = datetime(2025, 3, 1, 10, 30, tzinfo=UTC)
    for day in range(10):
        add_sale(db, store, ids["FX-1"], 2 + day, "12500.50", start + timedelta(days=day))
        add_sale(db, store, ids["FX-2"], 1, "11000", start + timedelta(days=day, hours=3))
    return user, store, ids


def test_csv_cells_that_start_a_formula_are_neutralised(shop):
    user, _, _ = shop
    rows = _raw_cells(user.get("/api/export/products.csv"))
    header, cells = rows[0], {r[0]: dict(zip(rows[0], r, strict=False)) for r in rows[1:]}
    assert header[:3] == ["sku", "name", "category"]
    assert cells["FX-1"]["name"] == '\'=HYPERLINK("http://x")'
    assert cells["FX-1"]["category"] == "'+cmd" and cells["FX-1"]["variation"] == "'-1 variation"
    assert cells["FX-1"]["description"] == "'@SUM(A1)"
    assert cells["FX-2"]["name"] == "Tab\tinside"  # only a leading trigger counts
    assert cells["FX-3"]["name"] == "''quoted already"  # an apostrophe is escaped too: reversible
    assert cells["FX-4"]["name"] == "Plain name"
    for row in rows[1:]:
        assert not any(c[:1] in ("=", "+", "-", "@", "\t", "\r") for c in row), row


def test_leading_tab_and_carriage_return_are_neutralised(user, db):
    # The API strips surrounding whitespace, so such values only come from older data.
    with db.cursor() as cur:
        cur.execute(
            """INSERT INTO products (store_id, sku, name, category, price, stock)
               VALUES (%s, 'WS-1', E'\\tTabbed', E'\\rCarriage', 1, 1)""",
            (store_of(db, user),),
        )
    rows = _raw_cells(user.get("/api/export/products.csv"))
    assert rows[1][1:3] == ["'\tTabbed", "'\rCarriage"]


def test_exports_round_trip_through_the_import_routes(shop, make_user):
    user, _, _ = shop
    products = user.get("/api/export/products.csv")
    sales = user.get("/api/export/transactions.csv")
    assert len(_csv(sales)) == 20
    copy = make_user()
    r = copy.post("/api/products/import", content=products.content, headers={"Content-Type": "text/csv"})
    assert r.status_code == 200 and r.json()["created"] == 4, r.text
    r = copy.post("/api/transactions/import", content=sales.content, headers={"Content-Type": "text/csv"})
    assert r.status_code == 200 and r.json()["imported"] == 20, r.text
    assert copy.get("/api/export/products.csv").text == products.text

    def without_ids(text: str) -> list[dict]:
        return [{k: v for k, v in row.items() if k != "transaction_id"} for row in csv.DictReader(io.StringIO(text))]

    assert without_ids(copy.get("/api/export/transactions.csv").text) == without_ids(sales.text)
    # The restored cells are the original text, not the escaped one.
    assert copy.get("/api/products/FX-1").json()["name"] == TRICKY[0][1]
    assert copy.get("/api/products/FX-3").json()["name"] == "'quoted already"

    # store.json: its products and transactions arrays post to the same routes.
    doc = user.get("/api/export/store.json")
    assert doc.status_code == 200 and doc.headers["content-type"].startswith("application/json")
    data = doc.json()
    assert data["format"] == "siprems-store-export/1" and data["store"]["timezone"]
    third = make_user()
    assert third.post("/api/products/import", json={"products": data["products"]}).status_code == 200
    r = third.post("/api/transactions/import", json={"transactions": data["transactions"]})
    assert r.status_code == 200, r.text
    again = third.get("/api/export/store.json").json()
    assert again["products"] == data["products"] and again["transactions"] == data["transactions"]


def test_transactions_by_local_day_range_and_bad_ranges(shop):
    user, _, _ = shop
    rows = _csv(user.get("/api/export/transactions.csv", params={"from": "2025-03-03", "to": "2025-03-04"}))
    days = {datetime.fromisoformat(r["transaction_date"]).astimezone(UTC).date().isoformat() for r in rows}
    assert len(rows) == 4 and days == {"2025-03-03", "2025-03-04"}
    for params, field in (({"from": "2025-03-05", "to": "2025-03-01"}, "end"), ({"from": "2025-13-01"}, "from")):
        body = assert_error(user.get("/api/export/transactions.csv", params=params), 400)
        assert field in body["message"] or "to" in body["message"], body
    assert_error(user.get("/api/export/transactions.csv", params={"since": "2025-01-01"}), 400, "since")


def test_purchase_orders_csv(user, db):
    store = store_of(db, user)
    p = add_product(db, store, "POX-1")
    sid = supplier(user, "=Evil Supplier")["supplier_id"]
    with db.cursor() as cur:
        cur.execute("INSERT INTO purchase_orders (store_id, supplier_id) VALUES (%s, %s) RETURNING po_id", (store, sid))
        po = cur.fetchone()["po_id"]
        cur.execute(
            "INSERT INTO purchase_order_lines (po_id, store_id, product_id, quantity, unit_cost) "
            "VALUES (%s,%s,%s,12,5)",
            (po, store, p["product_id"]),
        )
    rows = _csv(user.get("/api/export/purchase-orders.csv"))
    assert [(r["po_id"], r["status"], r["supplier_name"], r["product_sku"], r["quantity"]) for r in rows] == [
        (str(po), "draft", "'=Evil Supplier", "POX-1", "12")
    ]


def test_another_store_exports_nothing_of_ours(shop, make_user):
    other = make_user()
    assert _csv(other.get("/api/export/products.csv")) == []
    assert _csv(other.get("/api/export/transactions.csv")) == []
    data = other.get("/api/export/store.json").json()
    assert data["products"] == [] and data["transactions"] == [] and data["suppliers"] == []
    assert_error(httpx.get(other.client.base_url.join("/api/export/products.csv")), 401)


# --- memory -------------------------------------------------------------------


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        found.append(parent)
        try:
            for task in os.listdir(f"/proc/{parent}/task"):
                with open(f"/proc/{parent}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return found


def _rss_kib(pids: list[int]) -> dict[int, int]:
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        out[pid] = int(line.split()[1])
        except OSError:
            pass
    return out


class RssSampler(threading.Thread):
    """Peak RSS per API process while an export runs (every 20 ms)."""

    def __init__(self, pids: list[int]):
        super().__init__(daemon=True)
        self.pids, self.peak, self.stop = pids, _rss_kib(pids), threading.Event()
        self.baseline = dict(self.peak)

    def run(self):
        while not self.stop.is_set():
            for pid, kib in _rss_kib(self.pids).items():
                self.peak[pid] = max(self.peak.get(pid, 0), kib)
            time.sleep(0.02)

    def growth_mib(self) -> float:
        return max((self.peak[p] - self.baseline.get(p, self.peak[p])) / 1024 for p in self.peak)


@pytest.fixture(scope="module")
def demo(stack):
    """The demo shop (two years of sales), then the same two years sixteen times
    over (shifted by minutes) so the export is far bigger than any buffer."""
    seed(stack.direct_url)
    conn = psycopg2.connect(stack.direct_url, cursor_factory=psycopg2.extras.RealDictCursor)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT store_id FROM users WHERE lower(email) = %s", (DEMO_EMAIL,))
        store_id = cur.fetchone()["store_id"]
        cur.execute("SELECT count(*) AS n FROM transactions WHERE store_id = %s", (store_id,))
        demo_rows = cur.fetchone()["n"]
    with httpx.Client(base_url=stack.base_url, timeout=120) as c:
        token = c.post("/api/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}).json()["access_token"]
    client = httpx.Client(base_url=stack.base_url, timeout=300, headers={"Authorization": f"Bearer {token}"})
    yield client, conn, store_id, demo_rows
    client.close()
    with conn.cursor() as cur:
        cur.execute("DELETE FROM stores WHERE store_id = %s", (store_id,))
    conn.close()


def _download(client, path: str) -> tuple[int, int]:
    size = lines = 0
    with client.stream("GET", path) as r:
        assert r.status_code == 200
        for chunk in r.iter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\n")
    return size, lines


def _measure(stack, client, path: str) -> tuple[int, int, float, float]:
    pids = [p for name in ("api1", "api2") for p in _descendants(stack.procs[name].pid)]
    sampler = RssSampler(pids)
    sampler.start()
    started = time.perf_counter()
    size, lines = _download(client, path)
    elapsed = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    return size, lines, sampler.growth_mib(), elapsed


def test_exports_of_two_years_stream_in_constant_memory(stack, demo):
    client, conn, store_id, demo_rows = demo
    _download(client, "/api/export/transactions.csv?from=2000-01-01&to=2000-01-02")  # warm every worker's pool
    _download(client, "/api/export/transactions.csv?from=2000-01-01&to=2000-01-02")
    size1, lines1, growth1, t1 = _measure(stack, client, "/api/export/transactions.csv")
    assert lines1 == demo_rows + 1
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO transactions (store_id, product_id, quantity_sold, price_per_unit, is_promo,
                                         transaction_date)
               SELECT store_id, product_id, quantity_sold, price_per_unit, is_promo,
                      transaction_date - k * interval '1 minute'
               FROM transactions, generate_series(1, 15) AS k WHERE store_id = %s""",
            (store_id,),
        )
    size8, lines8, growth8, t8 = _measure(stack, client, "/api/export/transactions.csv")
    json_size, _, json_growth, tj = _measure(stack, client, "/api/export/store.json")
    print(
        f"\ndemo 2 years: {demo_rows} rows, {size1 / 2**20:.1f} MiB CSV in {t1:.1f} s, "
        f"peak RSS growth {growth1:.1f} MiB;"
        f" x16: {lines8 - 1} rows, {size8 / 2**20:.1f} MiB in {t8:.1f} s, growth {growth8:.1f} MiB;"
        f" store.json {json_size / 2**20:.1f} MiB in {tj:.1f} s, growth {json_growth:.1f} MiB"
    )
    assert lines8 == 16 * demo_rows + 1
    # Sixteen times the rows, about the same memory: no worker holds the export
    # (as Python rows it would take several hundred MiB, as one string its size).
    export_mib = size8 / 2**20
    assert growth8 < min(growth1 + 10, export_mib / 3), (growth1, growth8, export_mib)
    assert json_growth < min(growth1 + 10, json_size / 2**20 / 3), (growth1, json_growth)
