"""Question understanding, Indonesian and English: the language, what is asked
(an intent), the period and the number of days it names. Pure functions, no
I/O; matching a product name against the store's products happens in
`assistant`, which knows the products.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Intent kinds, in the order they are tested (the first match wins).
LOW_STOCK, RESTOCK, FORECAST = "low_stock", "restock", "forecast"
BEST, WORST, SALES, EVENTS = "best_sellers", "worst_sellers", "sales_summary", "events"
HELP, GREETING, THANKS, UNKNOWN = "help", "greeting", "thanks", "unknown"

# Intents whose answer needs the store's data.
STORE_INTENTS = {LOW_STOCK, RESTOCK, FORECAST, BEST, WORST, SALES, EVENTS}
# Of those, the ones that show sales figures or forecasts: not for a cashier (siprems.team.roles).
MANAGER_INTENTS = {RESTOCK, FORECAST, BEST, WORST, SALES}


@dataclass(frozen=True)
class Period:
    """A named period: today, yesterday, this_week, last_week, this_month,
    last_month, or last_n (the n days ending today)."""

    kind: str
    n: int = 0


@dataclass(frozen=True)
class Intent:
    kind: str
    lang: str  # "id" | "en"
    period: Period | None = None
    days: int | None = None  # a horizon or window in days named in the question
    text: str = ""  # the normalised question (lower case, single spaces)


_ID_WORDS = {
    "apa",
    "yang",
    "berapa",
    "stok",
    "stoknya",
    "produk",
    "barang",
    "minggu",
    "bulan",
    "hari",
    "ini",
    "saya",
    "untuk",
    "dan",
    "di",
    "ke",
    "dari",
    "mana",
    "paling",
    "terjual",
    "bisa",
    "tolong",
    "apakah",
    "bagaimana",
    "kapan",
    "ada",
    "akan",
    "harus",
    "perlu",
    "tidak",
    "besok",
    "penjualan",
    "pendapatan",
    "omzet",
    "omset",
    "terlaris",
    "laku",
    "habis",
    "menipis",
    "depan",
    "terakhir",
    "kemarin",
    "saja",
    "dong",
    "ya",
    "kah",
    "prediksi",
    "perkiraan",
    "libur",
    "acara",
    "halo",
    "hai",
    "terima",
    "kasih",
    "banyak",
    "dipesan",
    "pesan",
    "toko",
    "kamu",
    "anda",
    "caranya",
    "gimana",
    "sedikit",
    "rendah",
    "transaksi",
    "lalu",
    "siapa",
    "mengapa",
    "kenapa",
    "berapakah",
    "sudah",
    "belum",
    "sekarang",
    "bagaimanakah",
    "adakah",
}
_EN_WORDS = {
    "what",
    "which",
    "how",
    "the",
    "is",
    "are",
    "my",
    "of",
    "for",
    "this",
    "today",
    "week",
    "month",
    "sell",
    "sold",
    "stock",
    "products",
    "product",
    "will",
    "should",
    "do",
    "does",
    "can",
    "you",
    "much",
    "many",
    "best",
    "worst",
    "sellers",
    "selling",
    "revenue",
    "sales",
    "low",
    "next",
    "last",
    "days",
    "day",
    "forecast",
    "any",
    "upcoming",
    "holidays",
    "holiday",
    "events",
    "hello",
    "hi",
    "thanks",
    "thank",
    "order",
    "items",
    "yesterday",
    "tomorrow",
    "running",
    "out",
    "me",
    "show",
    "tell",
    "and",
    "in",
    "on",
    "was",
    "were",
    "help",
    "transactions",
    "need",
    "weather",
    "who",
    "i",
    "a",
    "to",
    "be",
    "expected",
}

# Words of questions, never of product names (product matching ignores them).
QUESTION_WORDS = frozenset(_ID_WORDS | _EN_WORDS)

_NUMBER_WORDS = {
    "satu": 1,
    "dua": 2,
    "tiga": 3,
    "empat": 4,
    "lima": 5,
    "enam": 6,
    "tujuh": 7,
    "delapan": 8,
    "sembilan": 9,
    "sepuluh": 10,
    "empat belas": 14,
    "tiga puluh": 30,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "fourteen": 14,
    "thirty": 30,
}

# (kind, patterns). Order matters: more specific questions first.
_PATTERNS: list[tuple[str, tuple[str, ...]]] = [
    (
        RESTOCK,
        (
            r"\bre-?sto(c)?k",
            r"\breorder",
            r"\bre-order",
            r"\bpesan ulang",
            r"\bisi ulang",
            r"\breplenish",
            r"\bkulak",
            r"\b(should|must|need to) i (order|buy)",
            r"\border more",
            r"\bwhat to order",
            r"\bhow (much|many) .*\b(order|buy)\b",
            r"\b(harus|perlu) (saya )?(di)?(pesan|beli|order)",
            r"\bberapa .*\b(di)?(pesan|beli|order)\b",
            r"\b(di)?pesan berapa",
            r"\bbelanja stok",
        ),
    ),
    (
        LOW_STOCK,
        (
            r"\blow (on )?stock",
            r"\bstock (is |are )?(low|running)",
            r"\brunning (low|out)",
            r"\bout of stock",
            r"\bstok\w* (\w+ )?(menipis|rendah|sedikit|habis|kritis|tipis)",
            r"\b(menipis|hampir habis|kehabisan|stok kritis)",
            r"\blow inventory",
            r"\bshort on stock",
        ),
    ),
    (
        FORECAST,
        (
            r"\bforecast",
            r"\bpredict",
            r"\bprediksi",
            r"\bperkiraan",
            r"\bramalan",
            r"\bproyeksi",
            r"\bexpected (demand|sales)",
            r"\bdemand\b",
            r"\bpermintaan",
            r"\bwill (i )?sell",
            r"\bakan terjual",
            r"\bbakal (laku|terjual)",
            r"\b(why|kenapa|mengapa)\b",  # "why will X sell so much?": the forecast with its drivers
        ),
    ),
    (
        WORST,
        (
            r"\bworst",
            r"\bleast (sold|selling|popular)",
            r"\bslow(est)?[- ]?(moving|sellers?)",
            r"\bsells? the least",
            r"\bkurang laku",
            r"\btidak laku",
            r"\bpaling (sedikit|sepi|jarang)",
            r"\bpaling tidak laku",
            r"\bgak laku",
            r"\bsepi pembeli",
        ),
    ),
    (
        BEST,
        (
            r"\bbest",
            r"\btop[- ]?(sell|product|\d)",
            r"\bmost (sold|popular)",
            r"\bsells? the most",
            r"\bpopular",
            r"\bterlaris",
            r"\bpaling (laku|laris|banyak (terjual|dibeli)|populer)",
            r"\blaris",
        ),
    ),
    (
        EVENTS,
        (
            r"\bevent",
            r"\bholiday",
            r"\bcalendar",
            r"\bpromo",
            r"\bacara",
            r"\blibur",
            r"\bkalender",
            r"\btanggal merah",
            r"\bcuti bersama",
            r"\bperayaan",
        ),
    ),
    (
        SALES,
        (
            r"\brevenue",
            r"\bsales\b",
            r"\bincome",
            r"\bearn",
            r"\bturnover",
            r"\btransaction",
            r"\bcheckout",
            r"\bitems? sold",
            r"\bunits? sold",
            r"\bhow (much|many) .*\bsold",
            r"\bpendapatan",
            r"\bomzet",
            r"\bomset",
            r"\bpenjualan",
            r"\bpemasukan",
            r"\btransaksi",
            r"\bterjual",
            r"\bpenghasilan",
        ),
    ),
    (
        HELP,
        (
            r"\bwhat can you",
            r"\bwhat do you do",
            r"\bhelp\b",
            r"\bhow (do|can) i use",
            r"\bhow to use",
            r"\bbantuan",
            r"\bbisa apa",
            r"\bapa (saja )?yang (bisa|dapat) (kamu|anda)",
            r"\bcara (pakai|menggunakan)",
            r"\bfitur",
            r"\bfeatures?\b",
            r"\bwho are you",
            r"\bsiapa (kamu|anda)",
        ),
    ),
    (THANKS, (r"\bthank", r"\bterima ?kasih", r"\bmakasih", r"\bthx\b")),
    (
        GREETING,
        (
            r"^(hi|hello|hey|halo|hai|helo|pagi|siang|sore|malam)\b",
            r"\bgood (morning|afternoon|evening)",
            r"\bselamat (pagi|siang|sore|malam)",
            r"\bassalamu",
        ),
    ),
]


def normalise(message: str) -> str:
    return re.sub(r"\s+", " ", message.strip().lower())


def detect_language(text: str, default: str = "id") -> str:
    words = re.findall(r"[a-z]+", text)
    id_score = sum(w in _ID_WORDS for w in words)
    en_score = sum(w in _EN_WORDS for w in words)
    if id_score == en_score:
        return default
    return "id" if id_score > en_score else "en"


def _number(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    return _NUMBER_WORDS.get(token)


_NUM = r"(\d{1,4}|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + ")"


def parse_days(text: str) -> int | None:
    """The number of days a question names: "14 days", "7 hari", "next week",
    "2 minggu", "bulan depan"."""
    m = re.search(_NUM + r"\s*(hari|days?)\b", text)
    if m:
        return _number(m.group(1))
    m = re.search(_NUM + r"\s*(minggu|weeks?|pekan)\b", text)
    if m and (weeks := _number(m.group(1))):
        return 7 * weeks
    if re.search(r"\b(next|coming) week|\bminggu depan|\bpekan depan|\bseminggu", text):
        return 7
    if re.search(r"\b(next|coming) month|\bbulan depan|\bsebulan", text):
        return 30
    if re.search(r"\btomorrow|\bbesok", text):
        return 1
    return None


def parse_period(text: str) -> Period | None:
    m = re.search(r"\b(last|past|previous)\s+" + _NUM + r"\s*days?\b", text) or re.search(
        _NUM + r"\s*hari\s+(terakhir|yang lalu|belakangan|lalu)", text
    )
    if m:
        token = m.group(2) if m.group(1) in ("last", "past", "previous") else m.group(1)
        n = _number(token)
        if n:
            return Period("last_n", min(n, 366))
    rules = [
        ("yesterday", r"\byesterday|\bkemarin"),
        ("today", r"\btoday|\bhari ini|\bsekarang|\btoday's"),
        ("last_week", r"\blast week|\bminggu lalu|\bpekan lalu|\bminggu kemarin"),
        ("this_week", r"\bthis week|\bminggu ini|\bpekan ini"),
        ("last_month", r"\blast month|\bbulan lalu|\bbulan kemarin"),
        ("this_month", r"\bthis month|\bbulan ini"),
    ]
    for kind, pattern in rules:
        if re.search(pattern, text):
            return Period(kind)
    if re.search(r"\b(last|past) week\b|\bseminggu terakhir", text):
        return Period("last_n", 7)
    if re.search(r"\b(last|past) month\b|\bsebulan terakhir", text):
        return Period("last_n", 30)
    return None


def classify(message: str, default_lang: str = "id") -> Intent:
    text = normalise(message)
    lang = detect_language(text, default_lang)
    kind = UNKNOWN
    for candidate, patterns in _PATTERNS:
        if any(re.search(p, text) for p in patterns):
            kind = candidate
            break
    return Intent(kind=kind, lang=lang, period=parse_period(text), days=parse_days(text), text=text)
