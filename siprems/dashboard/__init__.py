"""Dashboard figures (cards, trends, metrics, charts) computed from a store's
sales and products. No Sanic imports."""
