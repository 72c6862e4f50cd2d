"""Bulk import of products and sales history (JSON or CSV), validated in full
before anything is written, then written in one transaction (no Sanic)."""
