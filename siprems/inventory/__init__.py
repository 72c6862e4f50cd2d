"""Inventory: the stock ledger (`ledger`: every stock change as a movement). No Sanic imports."""
