"""The product catalogue of a store: validation rules and SQL (no Sanic)."""
