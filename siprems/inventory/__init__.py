"""Inventory: the stock policy (`policy`, pure) and its inputs read from the
database (`stock`). Forecasting provides the demand forecast; inventory
decides what it means for the shelf. Importing this package imports nothing."""
