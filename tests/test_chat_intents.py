"""Question understanding and wording: pure functions, no services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from siprems.chat import intents as i
from siprems.chat import wording as w
from siprems.chat.assistant import match_products
from siprems.chat.facts import Product, period_range
from siprems.chat.general import general_answer


@pytest.mark.parametrize(
    "question,kind,lang",
    [
        ("Which products are low on stock?", i.LOW_STOCK, "en"),
        ("Produk apa saja yang stoknya menipis?", i.LOW_STOCK, "id"),
        ("barang apa yang hampir habis", i.LOW_STOCK, "id"),
        ("What is running out?", i.LOW_STOCK, "en"),
        ("What should I restock and how much?", i.RESTOCK, "en"),
        ("Berapa Roti Tawar yang harus saya pesan?", i.RESTOCK, "id"),
        ("Forecast for Teh Botol for the next 14 days", i.FORECAST, "en"),
        ("Prediksi penjualan Roti Tawar minggu depan", i.FORECAST, "id"),
        ("Best sellers this week?", i.BEST, "en"),
        ("Produk terlaris bulan ini apa?", i.BEST, "id"),
        ("Produk apa yang paling tidak laku?", i.WORST, "id"),
        ("Which products sell the least?", i.WORST, "en"),
        ("What is today's revenue?", i.SALES, "en"),
        ("Berapa omzet hari ini?", i.SALES, "id"),
        ("How many transactions this month?", i.SALES, "en"),
        ("Ada hari libur minggu depan?", i.EVENTS, "id"),
        ("Any upcoming holidays?", i.EVENTS, "en"),
        ("What can you do?", i.HELP, "en"),
        ("Bagaimana cara menggunakan aplikasi ini?", i.HELP, "id"),
        ("Halo", i.GREETING, "id"),
        ("Thanks!", i.THANKS, "en"),
        ("Siapa presiden Amerika?", i.UNKNOWN, "id"),
    ],
)
def test_classify(question, kind, lang):
    intent = i.classify(question)
    assert (intent.kind, intent.lang) == (kind, lang)


@pytest.mark.parametrize(
    "text,days",
    [
        ("next 14 days", 14),
        ("7 hari ke depan", 7),
        ("minggu depan", 7),
        ("2 minggu", 14),
        ("next month", 30),
        ("besok", 1),
        ("seven days", 7),
        ("tiga puluh hari", 30),
        ("no number here", None),
    ],
)
def test_parse_days(text, days):
    assert i.parse_days(text) == days


@pytest.mark.parametrize(
    "text,period",
    [
        ("today", i.Period("today")),
        ("kemarin", i.Period("yesterday")),
        ("minggu ini", i.Period("this_week")),
        ("last week", i.Period("last_week")),
        ("bulan ini", i.Period("this_month")),
        ("last 30 days", i.Period("last_n", 30)),
        ("7 hari terakhir", i.Period("last_n", 7)),
        ("ever", None),
    ],
)
def test_parse_period(text, period):
    assert i.parse_period(text) == period


def test_period_ranges_are_half_open_local_dates():
    sunday = date(2026, 11, 29)
    assert period_range("today", 0, sunday) == (sunday, date(2026, 11, 30))
    assert period_range("this_week", 0, sunday) == (date(2026, 11, 23), date(2026, 11, 30))
    assert period_range("last_week", 0, sunday) == (date(2026, 11, 16), date(2026, 11, 23))
    assert period_range("this_month", 0, sunday) == (date(2026, 11, 1), date(2026, 11, 30))
    assert period_range("last_month", 0, date(2026, 1, 5)) == (date(2025, 12, 1), date(2026, 1, 1))
    assert period_range("last_n", 7, sunday) == (date(2026, 11, 23), date(2026, 11, 30))


def test_numbers_and_money_per_language():
    assert w.money(Decimal("1234567.50"), "IDR", "id") == "Rp1.234.568"
    assert w.money(1234567, "IDR", "en") == "Rp 1,234,567"
    assert w.money(Decimal("12.5"), "USD", "en") == "USD 12.50"
    assert w.number(Fraction(19, 2), "id", 1) == "9,5"
    assert w.number(Fraction(1, 8), "en", 1) == "0.1"
    assert w.units(1, "en") == "1 unit" and w.units(2500, "en") == "2,500 units" and w.units(2, "id") == "2 unit"
    assert w.day(date(2026, 12, 25), "id") == "Jum, 25 Des 2026"


def _p(pid, name, sku="X"):
    return Product(pid, f"{sku}-{pid}", name, "c", 1, Decimal(1), 2)


def test_product_matching():
    items = [_p(1, "Roti Tawar"), _p(2, "Roti Coklat"), _p(3, "Susu UHT 1L"), _p(4, "Kopi Susu Kaleng")]
    assert match_products("forecast roti coklat next week", items) == [items[1]]
    assert match_products("berapa roti yang harus dipesan", items) == items[:2]  # ambiguous
    assert match_products("susu uht 1l", items) == [items[2]]
    assert match_products("how is x-3 doing", items) == [items[2]]  # by SKU
    assert match_products("forecast X-3?", items) == [items[2]]
    assert match_products("forecast x-33", items) == []
    assert match_products("what are the best sellers", items) == []


def test_general_answers_never_contain_figures():
    for question in (
        "Which products are low on stock?",
        "Berapa omzet hari ini?",
        "Halo",
        "What can you do?",
        "Siapa presiden Amerika?",
        "forecast Roti Tawar 7 days",
    ):
        text = general_answer(question).text
        assert not any(ch.isdigit() for ch in text), text
