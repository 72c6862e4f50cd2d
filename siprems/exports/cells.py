"""CSV cells a spreadsheet would run as a formula.

A cell starting with =, +, -, @, a tab or a carriage return is written with a
leading apostrophe (the OWASP advice); so is a cell that already starts with
an apostrophe, which keeps the escaping reversible: our CSV import strips
exactly one leading apostrophe (`restore`), so an export re-imports as it was."""

from __future__ import annotations

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")


def neutralise(value: str) -> str:
    return "'" + value if value.startswith(TRIGGERS) else value


def restore(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(TRIGGERS) else value
