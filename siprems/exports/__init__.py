"""Exports of a store's data (CSV per kind, one JSON of everything), streamed
from server-side cursors so memory stays flat however long the history."""
