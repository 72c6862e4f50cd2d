"""The built-in assistant: answers inventory questions from the store's own
data (via `facts`), in the language of the question, and says plainly what it
cannot answer. Small talk and help come from `general`, which is also all a
caller without a token ever gets.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

from siprems.chat import facts, intents
from siprems.chat import wording as w
from siprems.chat.general import Answer, small_talk
from siprems.chat.intents import Intent
from siprems.db import Pool
from siprems.forecasting.drivers import Drivers
from siprems.team import roles

MAX_LINES = 10
DEFAULT_FORECAST_DAYS = 7
DEFAULT_EVENT_DAYS = 30


def _tokens(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def match_products(text: str, products: list[facts.Product]) -> list[facts.Product]:
    """The product(s) a question names: a SKU, else the names sharing the most
    words with the question. Several results mean the question is ambiguous."""
    words = _tokens(text)
    by_sku = [p for p in products if re.search(r"(?<![\w-])" + re.escape(p.sku) + r"(?![\w-])", text, re.IGNORECASE)]
    if by_sku:
        return by_sku[:1]
    scored = []
    for p in products:
        name = {t for t in _tokens(p.name) if len(t) >= 2 and t not in intents.QUESTION_WORDS}
        hits = name & words
        if hits and any(len(t) >= 3 and not t.isdigit() for t in hits):
            scored.append(((len(hits), len(hits) / len(name)), p))
    if not scored:
        return []
    best = max(score for score, _ in scored)
    return [p for score, p in scored if score == best]


class BuiltinAssistant:
    """Answers one question; stateless (history is not needed for its answers)."""

    async def answer(
        self, pool: Pool, store_id: int, message: str, role: str = "owner", context: facts.AnswerContext | None = None
    ) -> Answer:
        """`role`: the asker's; a cashier gets no sales figures or forecasts. `context`: the
        store's, when the caller has read it already (the Gemini grounding)."""
        store = context or await facts.answer_context(pool, store_id)
        default_lang = "id" if store is None or store.locale.country == "ID" else "en"
        intent = intents.classify(message, default_lang)
        text = small_talk(intent)
        if text is None and intent.kind in intents.MANAGER_INTENTS and not roles.allows(role, "manager"):
            text = w.pick(
                intent.lang,
                "Maaf, angka penjualan dan prakiraan hanya untuk manajer atau pemilik toko. "
                "Saya bisa membantu soal stok produk dan acara toko.",
                "Sorry, sales figures and forecasts are for the shop's managers and owners. "
                "I can help with product stock and store events.",
            )
        if text is None:
            if store is None:
                text = w.pick(intent.lang, "Toko Anda tidak ditemukan.", "Your store was not found.")
            else:
                text = await _store_answer(pool, store, intent)
        return Answer(text, intent)


async def _store_answer(pool: Pool, s: facts.AnswerContext, intent: Intent) -> str:
    handler = {
        intents.LOW_STOCK: _low_stock,
        intents.RESTOCK: _restock,
        intents.FORECAST: _forecast,
        intents.BEST: _ranking,
        intents.WORST: _ranking,
        intents.SALES: _sales,
        intents.EVENTS: _events,
    }[intent.kind]
    return await handler(pool, s, intent)


def _estimate_note(lang: str) -> str:
    return w.pick(
        lang,
        "Catatan: kebutuhan harian adalah estimasi dari rata-rata penjualan 28 hari terakhir "
        "(belum ada model prediksi).",
        "Note: daily demand is an estimate from the average daily sales of the last 28 days (no forecast model yet).",
    )


def _per_day(d: facts.Demand, lang: str) -> str:
    return w.number(d.per_day, lang, 1) + w.pick(lang, "/hari", "/day")


def _cover(r: facts.StockStatus, lang: str) -> str:
    """Days of cover as the stock policy counts them (from the forecast model)."""
    if r.position.basis == "reorder_level":
        level = int(r.position.reorder_point)
        return w.pick(
            lang,
            f"belum ada model prediksi (batas pesan ulang {w.number(level, lang)})",
            f"no forecast model yet (reorder level {w.number(level, lang)})",
        )
    cover = r.days_of_cover
    if cover is None:
        return w.pick(lang, "cukup lebih dari setahun", "lasts over a year")
    return w.pick(lang, f"cukup ~{w.number(cover, lang)} hari", f"lasts ~{w.number(cover, lang)} days")


def _more(count: int, lang: str) -> str:
    return w.pick(lang, f"... dan {count} produk lainnya.", f"... and {count} more products.")


def _product_list(
    header: str, rows: list[facts.StockStatus], line: Callable[[facts.StockStatus], str], lang: str
) -> str:
    """The header, a line per product (at most MAX_LINES, then how many more), and the
    estimate note when any of their demand is an estimate."""
    lines = [header] + [line(r) for r in rows[:MAX_LINES]]
    if len(rows) > MAX_LINES:
        lines.append(_more(len(rows) - MAX_LINES, lang))
    if any(r.demand.is_estimate for r in rows):
        lines.append(_estimate_note(lang))
    return "\n".join(lines)


def _ambiguous(intent: Intent, candidates: list[facts.Product]) -> str | None:
    if len(candidates) <= 1:
        return None
    names = ", ".join(p.name for p in candidates[:6])
    return w.pick(intent.lang, f"Produk mana yang Anda maksud: {names}?", f"Which product do you mean: {names}?")


async def _low_stock(pool: Pool, s: facts.AnswerContext, intent: Intent) -> str:
    lang = intent.lang
    low = [r for r in await facts.stock_report(pool, s) if r.is_low]
    if not low:
        return w.pick(
            lang, "Tidak ada produk yang stoknya menipis saat ini.", "No products are low on stock right now."
        )
    header = w.pick(
        lang,
        f"{len(low)} produk stoknya menipis (di bawah atau sama dengan titik pesan ulang):",
        f"{len(low)} products are low on stock (at or below their reorder point):",
    )

    def line(r: facts.StockStatus) -> str:
        p = r.product
        return w.pick(
            lang,
            f"- {p.name} ({p.sku}): stok {w.number(p.stock, lang)}, "
            f"terjual ~{_per_day(r.demand, lang)}, {_cover(r, lang)}",
            f"- {p.name} ({p.sku}): stock {w.number(p.stock, lang)}, "
            f"sells ~{_per_day(r.demand, lang)}, {_cover(r, lang)}",
        )

    return _product_list(header, low, line, lang)


async def _restock(pool: Pool, s: facts.AnswerContext, intent: Intent) -> str:
    lang = intent.lang
    report = await facts.stock_report(pool, s)
    named = match_products(intent.text, [r.product for r in report])
    if (question := _ambiguous(intent, named)) is not None:
        return question
    if named:
        r = next(r for r in report if r.product.product_id == named[0].product_id)
        p = r.product
        head = w.pick(
            lang,
            f"{p.name}: stok {w.number(p.stock, lang)}, kebutuhan ~{_per_day(r.demand, lang)}, "
            f"waktu tunggu {p.lead_time_days} hari.",
            f"{p.name}: stock {w.number(p.stock, lang)}, demand ~{_per_day(r.demand, lang)}, "
            f"lead time {p.lead_time_days} days.",
        )
        if r.is_low and r.restock_qty > 0:
            advice = w.pick(
                lang,
                f"Saran: pesan {w.units(r.restock_qty, lang)} sekarang (sampai stok target {r.position.target_stock}).",
                f"Advice: order {w.units(r.restock_qty, lang)} now (up to the target stock of "
                f"{r.position.target_stock}).",
            )
        elif r.is_low:
            advice = w.pick(
                lang,
                "Stoknya menipis, tetapi stok target sudah tercapai dengan pesanan yang sedang dikirim.",
                "It is low, but stock on order already reaches its target stock.",
            )
        else:
            advice = w.pick(
                lang, f"Belum perlu restock ({_cover(r, lang)}).", f"No need to restock yet ({_cover(r, lang)})."
            )
        return "\n".join([head, advice] + ([_estimate_note(lang)] if r.demand.is_estimate else []))
    low = [r for r in report if r.is_low and r.restock_qty > 0]
    if not low:
        return w.pick(lang, "Saat ini tidak ada produk yang perlu di-restock.", "Nothing needs restocking right now.")
    total = sum(r.restock_qty for r in low)
    header = w.pick(
        lang,
        f"{len(low)} produk perlu di-restock, total {w.units(total, lang)} (sampai stok target masing-masing):",
        f"{len(low)} products need restocking, {w.units(total, lang)} in total (up to each target stock):",
    )

    def line(r: facts.StockStatus) -> str:
        p = r.product
        return w.pick(
            lang,
            f"- {p.name}: pesan {w.units(r.restock_qty, lang)} (stok {w.number(p.stock, lang)}, "
            f"~{_per_day(r.demand, lang)})",
            f"- {p.name}: order {w.units(r.restock_qty, lang)} (stock {w.number(p.stock, lang)}, "
            f"~{_per_day(r.demand, lang)})",
        )

    return _product_list(header, low, line, lang)


_WHY = re.compile(r"\b(why|kenapa|mengapa|alasan|because|karena)\b")


def _asks_why(text: str) -> bool:
    return bool(_WHY.search(text))


def _why(drivers: Drivers | None, lang: str, asked: bool) -> list[str]:
    """The forecast's drivers as answer lines: the dated ones (holidays, events,
    promotions, season, trend) and the busiest/quietest weekday; all of them when
    the question asks why, the top three otherwise."""
    if not drivers:
        return []
    lines = list(drivers["summary"])
    week = sorted(drivers["weekday"], key=lambda d: d["effect_pct"])
    if week and (week[-1]["effect_pct"] >= 10 or week[0]["effect_pct"] <= -10):
        lines.append(
            w.pick(
                lang,
                f"hari tersibuk {week[-1]['day']} {week[-1]['effect_pct']:+.0f}%, "
                f"tersepi {week[0]['day']} {week[0]['effect_pct']:+.0f}%",
                f"busiest weekday {week[-1]['day']} {week[-1]['effect_pct']:+.0f}%, "
                f"quietest {week[0]['day']} {week[0]['effect_pct']:+.0f}%",
            )
        )
    if not lines:
        return []
    shown = lines if asked else lines[:3]
    head = w.pick(lang, "Penyebab utama perkiraan ini:", "What drives this forecast:")
    return [head, *(f"- {line}" for line in shown)]


async def _forecast(pool: Pool, s: facts.AnswerContext, intent: Intent) -> str:
    lang = intent.lang
    days = max(
        1,
        min(
            intent.days
            or (intent.period.n if intent.period and intent.period.kind == "last_n" else 0)
            or DEFAULT_FORECAST_DAYS,
            365,
        ),
    )
    items = await facts.products(pool, s.store_id)
    named = match_products(intent.text, items)
    if (question := _ambiguous(intent, named)) is not None:
        return question
    demand = await facts.demand_forecast(pool, s, named or items)
    estimate = any(d.is_estimate for d in demand.values())
    kind = w.pick(lang, "estimasi", "estimate") if estimate else w.pick(lang, "prediksi", "forecast")
    if named:
        p, d = named[0], demand[named[0].product_id]
        total = d.over(days)
        rate = w.number(total / days, lang, 1) + w.pick(lang, "/hari", "/day")
        lines = [
            w.pick(
                lang,
                f"Perkiraan penjualan {p.name} untuk {days} hari ke depan: sekitar "
                f"{w.units(total, lang)} (~{rate}, {kind}).",
                f"Expected sales of {p.name} over the next {days} days: about "
                f"{w.units(total, lang)} (~{rate}, {kind}).",
            )
        ]
        lines += _why(await facts.forecast_drivers(pool, s, p.product_id, days), lang, _asks_why(intent.text))
    else:
        total = sum((d.over(days) for d in demand.values()), Fraction(0))
        lines = [
            w.pick(
                lang,
                f"Perkiraan total penjualan toko untuk {days} hari ke depan: sekitar "
                f"{w.units(total, lang)} ({kind}). Produk dengan permintaan tertinggi:",
                f"Expected total store sales over the next {days} days: about {w.units(total, lang)} "
                f"({kind}). Products with the highest demand:",
            )
        ]
        top = sorted(items, key=lambda p: (-demand[p.product_id].per_day, p.name))[:5]
        lines += [f"- {p.name}: {w.units(demand[p.product_id].over(days), lang)}" for p in top]
        lines.append(
            w.pick(lang, "Sebutkan nama produk untuk perkiraan per produk.", "Name a product for its own forecast.")
        )
    if estimate:
        lines.append(_estimate_note(lang))
    return "\n".join(lines)


async def _ranking(pool: Pool, s: facts.AnswerContext, intent: Intent) -> str:
    lang, best = intent.lang, intent.kind == intents.BEST
    period = intent.period or intents.Period("last_n", 30)
    start, end = facts.period_range(period.kind, period.n, s.today)
    rows = await facts.ranking(pool, s, start, end, best=best)
    label = w.period(period.kind, period.n, lang)
    if best and (not rows or rows[0].units == 0):
        return w.pick(lang, f"Belum ada penjualan {label}.", f"There were no sales {label}.")
    head = (
        w.pick(lang, f"Produk terlaris {label}:", f"Best sellers {label}:")
        if best
        else w.pick(lang, f"Produk paling tidak laku {label}:", f"Worst sellers {label}:")
    )
    lines = [head]
    for i, r in enumerate(rows, 1):
        lines.append(f"{i}. {r.product.name}: {w.units(r.units, lang)}, {w.money(r.revenue, s.currency, lang)}")
    return "\n".join(lines)


async def _sales(pool: Pool, s: facts.AnswerContext, intent: Intent) -> str:
    lang = intent.lang
    period = intent.period or intents.Period("today")
    start, end = facts.period_range(period.kind, period.n, s.today)
    label = w.period(period.kind, period.n, lang)
    named = match_products(intent.text, await facts.products(pool, s.store_id))
    if (question := _ambiguous(intent, named)) is not None:
        return question
    if named:
        units, revenue = (await facts.units_by_product(pool, s, start, end)).get(named[0].product_id, (0, Decimal(0)))
        return w.pick(
            lang,
            f"Penjualan {named[0].name} {label}: {w.units(units, lang)}, {w.money(revenue, s.currency, lang)}.",
            f"Sales of {named[0].name} {label}: {w.units(units, lang)}, {w.money(revenue, s.currency, lang)}.",
        )
    t = await facts.totals(pool, s, start, end)
    return w.pick(
        lang,
        f"Penjualan {label}: pendapatan {w.money(t.revenue, s.currency, lang)}, "
        f"{w.number(t.transactions, lang)} transaksi, {w.number(t.items, lang)} barang terjual.",
        f"Sales {label}: revenue {w.money(t.revenue, s.currency, lang)}, "
        f"{w.number(t.transactions, lang)} transactions, {w.number(t.items, lang)} items sold.",
    )


_KINDS = {
    "id": {
        "promotion": "promosi",
        "holiday": "hari libur toko",
        "store-closed": "toko tutup",
        "public-holiday": "libur nasional",
    },
    "en": {
        "promotion": "promotion",
        "holiday": "store holiday",
        "store-closed": "store closed",
        "public-holiday": "public holiday",
    },
}


async def _events(pool: Pool, s: facts.AnswerContext, intent: Intent) -> str:
    lang = intent.lang
    days = max(1, min(intent.days or DEFAULT_EVENT_DAYS, 366))
    entries = await facts.calendar(pool, s, days, lang)
    if not entries:
        return w.pick(
            lang,
            f"Tidak ada acara atau hari libur dalam {days} hari ke depan.",
            f"No events or holidays in the next {days} days.",
        )
    lines = [
        w.pick(
            lang, f"Acara dan hari libur dalam {days} hari ke depan:", f"Events and holidays in the next {days} days:"
        )
    ]
    for e in entries[: 2 * MAX_LINES]:
        lines.append(f"- {w.day(e.day, lang)}: {e.name} ({_KINDS[lang][e.kind]})")
    if len(entries) > 2 * MAX_LINES:
        lines.append(
            w.pick(
                lang,
                f"... dan {len(entries) - 2 * MAX_LINES} lainnya.",
                f"... and {len(entries) - 2 * MAX_LINES} more.",
            )
        )
    return "\n".join(lines)
