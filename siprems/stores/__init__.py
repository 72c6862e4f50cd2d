"""A store's own settings: name, address, locale and opening hours (no Sanic)."""
