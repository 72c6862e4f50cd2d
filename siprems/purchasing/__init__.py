"""Purchasing: suppliers, purchase orders drafted from the restock advice and
received into stock, the stock on order, exports and webhooks' events."""
