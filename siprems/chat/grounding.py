"""The store data given to Gemini: a compact summary from the same `facts`
the built-in assistant uses, plus the built-in assistant's own answer to the
question when it is about store data, so both answer from the same figures."""

from __future__ import annotations

from datetime import timedelta

from siprems.chat import assistant, facts, intents
from siprems.chat import wording as w
from siprems.db import Pool
from siprems.team import roles

MAX_GROUNDING_CHARS = 6000

SYSTEM_PROMPT = (
    'You are the SIPREMS inventory assistant for the shop "{store}".\n'
    "Answer questions about this shop's stock, restocking, sales, forecasts, events and holidays, and "
    "how to use the SIPREMS app.\n"
    "Use ONLY the figures in STORE DATA below; never invent products or numbers. "
    "If STORE DATA does not contain what is asked, say plainly that you cannot answer it.\n"
    "Questions outside the shop and the app: politely decline.\n"
    "Answer in the language of the user's question (Indonesian or English), briefly, in plain text. "
    "Money in {currency}{rupiah}.\n"
    "\n"
    "STORE DATA\n"
    "{data}"
)


def _products_line(report: list[facts.StockStatus]) -> str:
    return "; ".join(
        f"{r.product.name} [{r.product.sku}] stock {r.product.stock}, "
        f"~{w.number(r.demand.per_day, 'en', 1)}/day, order {r.restock_qty}"
        for r in report
    )


async def summary(pool: Pool, s: facts.AnswerContext, question: str, role: str = "owner") -> str:
    """Compact facts for the prompt, capped at MAX_GROUNDING_CHARS. For a
    cashier (`role`) only stock levels and events: no sales or forecasts."""
    if not roles.allows(role, "manager"):
        return await _cashier_summary(pool, s, question)
    intent = intents.classify(question, "id" if s.locale.country == "ID" else "en")
    lines = [
        (
            f"Shop: {s.name}; country {s.locale.country}; timezone {s.locale.timezone}; currency {s.currency}; "
            f"today {s.today.isoformat()} ({w.day(s.today, 'en')})."
        )
    ]
    if intent.kind in intents.STORE_INTENTS:
        # First, so the size cap never cuts it.
        answer = await assistant.BuiltinAssistant().answer(pool, s.store_id, question, context=s)
        lines.append("Computed answer to this question (use these figures):\n" + answer.text)
    for kind in ("today", "this_week", "this_month"):
        start, end = facts.period_range(kind, 0, s.today)
        t = await facts.totals(pool, s, start, end)
        lines.append(
            f"Sales {w.period(kind, 0, 'en')} ({start.isoformat()}..{(end - timedelta(days=1)).isoformat()}): "
            f"revenue {w.money(t.revenue, s.currency, 'en')}, {t.transactions} transactions, "
            f"{t.items} items sold."
        )
    report = await facts.stock_report(pool, s)
    low = [r for r in report if r.is_low]
    lines.append(f"Low on stock ({len(low)}): " + (_products_line(low[:15]) or "none") + ".")
    if any(r.demand.is_estimate for r in report):
        lines.append("Daily demand (~/day) is an ESTIMATE from the average of the last 28 days; no forecast model yet.")
    start, end = facts.period_range("last_n", 30, s.today)
    best = await facts.ranking(pool, s, start, end, best=True)
    lines.append("Best sellers last 30 days: " + ", ".join(f"{r.product.name} {r.units} units" for r in best) + ".")
    return await _with_calendar(pool, s, intent.lang, lines)


async def _cashier_summary(pool: Pool, s: facts.AnswerContext, question: str) -> str:
    intent = intents.classify(question, "id" if s.locale.country == "ID" else "en")
    lines = [f"Shop: {s.name}; today {s.today.isoformat()} ({w.day(s.today, 'en')})."]
    lines.append(
        "The user is a CASHIER: sales figures, revenue and forecasts are not available to them; "
        "if asked, say that a manager or owner can see them."
    )
    if intent.kind in intents.STORE_INTENTS and intent.kind not in intents.MANAGER_INTENTS:
        answer = await assistant.BuiltinAssistant().answer(pool, s.store_id, question, "cashier", context=s)
        lines.append("Computed answer to this question (use these figures):\n" + answer.text)
    products = await facts.products(pool, s.store_id)
    lines.append("Stock: " + ("; ".join(f"{p.name} [{p.sku}] {p.stock}" for p in products[:60]) or "none") + ".")
    return await _with_calendar(pool, s, intent.lang, lines)


async def _with_calendar(pool: Pool, s: facts.AnswerContext, lang: str, lines: list[str]) -> str:
    """The summary's last line (events and holidays of the next 30 days), joined and capped."""
    entries = await facts.calendar(pool, s, 30, lang)
    lines.append(
        "Events and holidays next 30 days: "
        + ("; ".join(f"{e.day.isoformat()} {e.name} ({e.kind})" for e in entries[:15]) or "none")
        + "."
    )
    text = "\n".join(lines)
    return text if len(text) <= MAX_GROUNDING_CHARS else text[:MAX_GROUNDING_CHARS] + "\n[truncated]"


def system_prompt(s: facts.AnswerContext, data: str) -> str:
    return SYSTEM_PROMPT.format(
        store=s.name, currency=s.currency, rupiah=" (write Rp)" if s.currency == "IDR" else "", data=data
    )
