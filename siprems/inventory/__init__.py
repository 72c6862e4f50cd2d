"""Inventory: the stock policy (`policy`, pure: out/low/ok, reorder point,
days of cover, order quantity), its inputs read from the database (`stock`),
restock advice in the contract's shape (`restock`) and the stock ledger
(`ledger`: every stock change as a movement). Forecasting provides the demand
forecast; inventory decides. No Sanic imports; importing this package imports nothing."""
