"""Answers that need no store data: what the assistant can do, how to use
the app, greetings, thanks, and "I can't answer that". This module never
touches the database, so `general_answer` (what a caller without a token
gets) cannot reveal store data."""

from __future__ import annotations

from dataclasses import dataclass

from siprems.chat import intents
from siprems.chat import wording as w
from siprems.chat.intents import Intent


@dataclass(frozen=True)
class Answer:
    text: str
    intent: Intent


def capabilities(lang: str) -> str:
    return w.pick(
        lang,
        "Saya asisten inventaris SIPREMS. Saya bisa menjawab dari data toko Anda:\n"
        "- produk yang stoknya menipis\n- apa yang perlu di-restock dan berapa banyak\n"
        "- perkiraan penjualan sebuah produk untuk beberapa hari ke depan\n"
        "- produk terlaris dan paling tidak laku (hari ini, minggu ini, bulan ini, atau beberapa hari terakhir)\n"
        "- pendapatan, jumlah transaksi dan barang terjual hari ini, minggu ini atau bulan ini\n"
        "- acara toko dan hari libur nasional yang akan datang",
        "I am the SIPREMS inventory assistant. I can answer from your store's data:\n"
        "- which products are low on stock\n- what to restock and how much\n"
        "- the sales forecast for a product over the coming days\n"
        "- best and worst sellers (today, this week, this month, or the last few days)\n"
        "- revenue, transactions and items sold today, this week or this month\n"
        "- upcoming store events and public holidays",
    )


def _how_to_use(lang: str) -> str:
    return w.pick(
        lang,
        "Cara memakai aplikasi: Dashboard menampilkan ringkasan penjualan dan stok; Produk untuk mengelola "
        "barang dan stok; Transaksi untuk mencatat penjualan di kasir; Prediksi untuk perkiraan permintaan dan "
        "saran restock; Kalender untuk promosi, hari libur dan hari tutup toko; Insights untuk bertanya kepada saya.",
        "How to use the app: the Dashboard shows a summary of sales and stock; Products manages items and stock; "
        "Transactions records sales at the till; Prediction shows expected demand and restock advice; the "
        "Calendar holds promotions, holidays and closed days; Insights is where you ask me questions.",
    )


def small_talk(intent: Intent) -> str | None:
    lang = intent.lang
    if intent.kind == intents.GREETING:
        return w.pick(lang, "Halo! ", "Hello! ") + capabilities(lang)
    if intent.kind == intents.THANKS:
        return w.pick(
            lang,
            "Sama-sama! Ada lagi yang ingin Anda tanyakan tentang toko Anda?",
            "You're welcome! Anything else you'd like to know about your store?",
        )
    if intent.kind == intents.HELP:
        return capabilities(lang) + "\n\n" + _how_to_use(lang)
    if intent.kind == intents.UNKNOWN:
        return w.pick(
            lang,
            "Maaf, saya tidak bisa menjawab pertanyaan itu: saya hanya menjawab pertanyaan "
            "tentang stok, penjualan, perkiraan dan kalender toko Anda.\n\n",
            "Sorry, I can't answer that: I only answer questions about your store's stock, sales, "
            "forecasts and calendar.\n\n",
        ) + capabilities(lang)
    return None


def general_answer(message: str, default_lang: str = "id") -> Answer:
    """For callers without a valid token: help and small talk only."""
    intent = intents.classify(message, default_lang)
    text = small_talk(intent)
    if text is None:  # a question about store data
        text = w.pick(
            intent.lang,
            "Untuk menjawab pertanyaan tentang data toko (stok, penjualan, perkiraan, kalender) "
            "saya perlu tahu toko Anda: silakan masuk (login) terlebih dahulu, lalu tanyakan lagi.\n\n",
            "To answer questions about store data (stock, sales, forecasts, calendar) I need to know "
            "your store: please sign in first, then ask again.\n\n",
        ) + capabilities(intent.lang)
    return Answer(text, intent)
