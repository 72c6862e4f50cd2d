"""A deterministic demo shop: an Indonesian minimarket with ~20 products and
two years of daily sales (weekly and yearly seasonality, trend, promotions,
public-holiday effects, a few store-closed days) plus calendar events and one
demo user. The same anchor date always yields the same data; the anchor
defaults to today so the dashboard shows current figures.
"""

from __future__ import annotations

import io
import math
from datetime import date, datetime, time, timedelta, timezone

import holidays
import numpy as np
import psycopg2

from siprems.auth.passwords import hash_password
from siprems.inventory import ledger as stock_ledger

DEMO_EMAIL = "demo@siprems.local"
DEMO_PASSWORD = "Demo12345"
DEMO_NAME = "Demo Owner"
STORE_TZ = timezone(timedelta(hours=7))  # Asia/Jakarta (no DST)

# sku, name, category, price (IDR), cost, stock, base daily units
PRODUCTS = [
    ("BEV-001", "Air Mineral 600ml", "Beverages", 4000, 2500, 180, 38),
    ("BEV-002", "Teh Botol 350ml", "Beverages", 5500, 3800, 120, 22),
    ("BEV-003", "Kopi Susu Kaleng", "Beverages", 8500, 6000, 60, 9),
    ("BEV-004", "Jus Jeruk 1L", "Beverages", 18000, 13000, 25, 4),
    ("SNK-001", "Keripik Singkong", "Snacks", 9000, 6000, 70, 11),
    ("SNK-002", "Biskuit Kelapa", "Snacks", 7500, 5000, 55, 8),
    ("SNK-003", "Kacang Garuda 250g", "Snacks", 15000, 11000, 8, 5),
    ("BAK-001", "Roti Tawar", "Bakery", 16000, 11000, 30, 9),
    ("BAK-002", "Roti Coklat", "Bakery", 7000, 4500, 4, 7),
    ("BAK-003", "Kue Nastar (toples)", "Bakery", 65000, 42000, 15, 1),
    ("DRY-001", "Susu UHT 1L", "Dairy", 19500, 15000, 40, 6),
    ("DRY-002", "Yogurt Stroberi", "Dairy", 9000, 6500, 3, 3),
    ("DRY-003", "Keju Cheddar 165g", "Dairy", 23000, 17500, 18, 2),
    ("HSE-001", "Sabun Cuci Piring", "Household", 12500, 9000, 35, 4),
    ("HSE-002", "Deterjen 800g", "Household", 24000, 18000, 22, 3),
    ("HSE-003", "Tisu Gulung (4)", "Household", 17000, 12500, 10, 3),
    ("PRS-001", "Sampo Sachet", "Personal Care", 1500, 900, 260, 25),
    ("PRS-002", "Pasta Gigi 190g", "Personal Care", 14000, 10000, 28, 3),
    ("PRS-003", "Sabun Mandi Batang", "Personal Care", 4500, 3000, 65, 7),
    ("STP-001", "Beras Premium 5kg", "Staples", 78000, 69000, 24, 4),
    ("STP-002", "Minyak Goreng 2L", "Staples", 38000, 33000, 30, 5),
    ("STP-003", "Gula Pasir 1kg", "Staples", 17500, 15000, 12, 6),
]

# Mon..Sun multipliers: weekends are busier.
WEEKDAY = np.array([0.92, 0.9, 0.93, 0.97, 1.08, 1.2, 1.12])


def _count(cur, sql: str) -> int:
    cur.execute(sql)
    return cur.fetchone()[0]


def seed(dsn: str, *, only_if_empty: bool = False, days: int = 730, anchor: date | None = None) -> str:
    """Load the demo shop. Returns a one-line summary."""
    anchor = anchor or datetime.now(STORE_TZ).date()
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(727002)")
            if only_if_empty and _count(cur, "SELECT count(*) FROM stores") > 0:
                return "demo data: database not empty, left as it is"
            cur.execute("SELECT store_id FROM users WHERE lower(email) = %s", (DEMO_EMAIL,))
            old = cur.fetchone()
            if old:
                cur.execute("DELETE FROM stores WHERE store_id = %s", (old[0],))
            store_id, rows, events = _load(cur, anchor, days)
        return (
            f"demo data: store {store_id}, {len(PRODUCTS)} products, {rows} sales rows over {days} days, "
            f"{events} events; login {DEMO_EMAIL} / {DEMO_PASSWORD}"
        )
    finally:
        conn.close()


def _load(cur, anchor: date, days: int) -> tuple[int, int, int]:
    rng = np.random.default_rng(20240601)
    cur.execute(
        "INSERT INTO stores (name, address) VALUES (%s, %s) RETURNING store_id",
        ("Toko Sejahtera", "Jl. Merdeka No. 17, Bandung"),
    )
    store_id = cur.fetchone()[0]
    cur.execute(
        "INSERT INTO users (store_id, email, full_name, password_hash) VALUES (%s, %s, %s, %s) RETURNING user_id",
        (store_id, DEMO_EMAIL, DEMO_NAME, hash_password(DEMO_PASSWORD)),
    )
    cur.execute(
        "INSERT INTO store_members (store_id, user_id, role) VALUES (%s, %s, 'owner')", (store_id, cur.fetchone()[0])
    )
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"):
        cur.execute(
            "INSERT INTO opening_hours (store_id, day_of_week, open_time, close_time) VALUES (%s,%s,%s,%s)",
            (store_id, day, "07:00", "22:00"),
        )

    start = anchor - timedelta(days=days - 1)
    id_holidays = holidays.country_holidays("ID", years=range(start.year, anchor.year + 2))
    closed, promos, events = _calendar(rng, start, anchor, id_holidays)
    for name, day, kind, desc in events:
        cur.execute(
            "INSERT INTO events (store_id, event_name, event_date, type, description) VALUES (%s,%s,%s,%s,%s)",
            (store_id, name, day, kind, desc),
        )

    product_ids = []
    for sku, name, category, price, cost, stock, _ in PRODUCTS:
        cur.execute(
            """INSERT INTO products (store_id, sku, name, category, price, cost_price, stock, created_at)
               VALUES (%s,%s,%s,%s,%s,%s,%s,%s) RETURNING product_id""",
            (store_id, sku, name, category, price, cost, stock, datetime.combine(start, time(6), STORE_TZ)),
        )
        product_ids.append(cur.fetchone()[0])
    cur.execute(stock_ledger.OPENING_FOR_STORE, ("demo data", store_id))

    buf = io.StringIO()
    rows = 0
    now = datetime.now(STORE_TZ)
    for offset in range(days):
        day = start + timedelta(days=offset)
        if day in closed:
            continue
        t = offset / 365.0
        yearly = 1 + 0.12 * math.sin(2 * math.pi * (day.timetuple().tm_yday - 80) / 365.25)
        trend = 1 + 0.15 * t
        holiday_factor = _holiday_factor(day, id_holidays)
        promo = day in promos
        for (sku, _n, category, price, _c, _s, base), pid in zip(PRODUCTS, product_ids, strict=False):
            factor = WEEKDAY[day.weekday()] * yearly * trend * holiday_factor
            if category == "Bakery" and sku == "BAK-003":
                factor *= 6.0 if holiday_factor > 1.3 else 1.0  # festive cookies before Lebaran
            if promo and category in ("Beverages", "Snacks"):
                factor *= 1.35
            qty = int(rng.poisson(base * factor))
            if qty <= 0:
                continue
            # Split the day's units over a few sale lines at plausible times.
            parts = min(qty, int(rng.integers(1, 4)))
            cuts = np.sort(rng.choice(np.arange(1, qty), size=parts - 1, replace=False)) if parts > 1 else []
            sizes = np.diff(np.concatenate(([0], cuts, [qty])))
            for size in sizes:
                at = datetime.combine(day, time(7), STORE_TZ) + timedelta(minutes=int(rng.integers(0, 15 * 60)))
                if at > now:
                    continue
                unit = round(price * (0.9 if promo and category in ("Beverages", "Snacks") else 1.0), 2)
                buf.write(f"{store_id}\t{pid}\t{int(size)}\t{unit}\t{'t' if promo else 'f'}\t{at.isoformat()}\n")
                rows += 1
    buf.seek(0)
    cur.copy_expert(
        "COPY transactions (store_id, product_id, quantity_sold, price_per_unit, is_promo, transaction_date) "
        "FROM STDIN",
        buf,
    )
    return store_id, rows, len(events)


def _holiday_factor(day: date, id_holidays) -> float:
    """Busier in the week before big holidays, quieter on the holiday itself."""
    if day in id_holidays:
        return 0.7
    for ahead in range(1, 8):
        name = id_holidays.get(day + timedelta(days=ahead))
        if name and ("Fitri" in name or "Christmas" in name or "Natal" in name or "New Year" in name):
            return 1.5 if ahead <= 3 else 1.25
    return 1.0


def _calendar(rng, start: date, anchor: date, id_holidays):
    closed: set[date] = set()
    promos: set[date] = set()
    events: list[tuple[str, date, str, str]] = []
    # Closed on the first day of Eid al-Fitr each year, and on 1 January.
    for day, name in sorted(id_holidays.items()):
        if (
            start <= day <= anchor + timedelta(days=120)
            and "Fitri" in name
            and (day - timedelta(days=1)) not in id_holidays
        ):
            closed.add(day)
            events.append(("Tutup Lebaran", day, "store-closed", "Store closed for Eid al-Fitr"))
    year = start.year
    while date(year, 1, 1) <= anchor + timedelta(days=120):
        if date(year, 1, 1) >= start:
            closed.add(date(year, 1, 1))
            events.append(("Tutup Tahun Baru", date(year, 1, 1), "store-closed", "Closed on New Year's Day"))
        year += 1
    # A monthly payday promotion (25th-27th) and a few past and upcoming campaigns.
    month = date(start.year, start.month, 1)
    while month <= anchor + timedelta(days=90):
        first = month.replace(day=25)
        if start <= first <= anchor + timedelta(days=90):
            for k in range(3):
                promos.add(first + timedelta(days=k))
            events.append(("Promo Gajian", first, "promotion", "Payday promotion: drinks and snacks 10% off"))
        month = (month + timedelta(days=32)).replace(day=1)
    for ahead, name in ((9, "Promo Akhir Pekan"), (23, "Bazar Ramadan"), (45, "Promo Ulang Tahun Toko")):
        events.append((name, anchor + timedelta(days=ahead), "promotion", "Planned in-store campaign"))
        promos.add(anchor + timedelta(days=ahead))
    events.append(("Hari Jadi Kota", anchor + timedelta(days=30), "holiday", "Local city anniversary"))
    return closed, promos, events
