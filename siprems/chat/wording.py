"""Numbers, money, dates and period names written the way an Indonesian or an
English reader expects: "Rp1.234.567" / "Rp 1,234,567", "9,5" / "9.5"."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

_DAYS = {
    "id": ["Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min"],
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
}
_MONTHS = {
    "id": ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}


def round_half_up(value: Fraction | Decimal | int, places: int = 0) -> Decimal:
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _group(digits: str, sep: str) -> str:
    out: list[str] = []
    while len(digits) > 3:
        out.insert(0, digits[-3:])
        digits = digits[:-3]
    out.insert(0, digits)
    return sep.join(out)


def number(value: Fraction | Decimal | int, lang: str, places: int = 0) -> str:
    """Thousands grouped, half-up rounded; Indonesian uses '.' and ','."""
    q = round_half_up(value, places)
    sign = "-" if q < 0 else ""
    whole, _, frac = f"{abs(q):f}".partition(".")
    thousands, decimal_sep = (".", ",") if lang == "id" else (",", ".")
    text = _group(whole, thousands)
    if places and frac:
        text += decimal_sep + frac
    return sign + text


def money(amount: Fraction | Decimal | int, currency: str, lang: str) -> str:
    if currency == "IDR":
        return ("Rp" if lang == "id" else "Rp ") + number(amount, lang)
    return f"{currency} {number(amount, lang, 2)}"


def units(n: Fraction | Decimal | int, lang: str, places: int = 0) -> str:
    text = number(n, lang, places)
    if lang == "id":
        return f"{text} unit"
    return f"{text} unit" if text == "1" else f"{text} units"


def day(d: date, lang: str) -> str:
    return f"{_DAYS[lang][d.weekday()]}, {d.day} {_MONTHS[lang][d.month - 1]} {d.year}"


def period(kind: str, n: int, lang: str) -> str:
    names = {
        "id": {
            "today": "hari ini",
            "yesterday": "kemarin",
            "this_week": "minggu ini",
            "last_week": "minggu lalu",
            "this_month": "bulan ini",
            "last_month": "bulan lalu",
            "last_n": f"{n} hari terakhir",
        },
        "en": {
            "today": "today",
            "yesterday": "yesterday",
            "this_week": "this week",
            "last_week": "last week",
            "this_month": "this month",
            "last_month": "last month",
            "last_n": f"in the last {n} days",
        },
    }
    return names[lang][kind]


def pick(lang: str, id_text: str, en_text: str) -> str:
    return id_text if lang == "id" else en_text
