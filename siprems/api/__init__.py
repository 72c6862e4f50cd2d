"""HTTP layer: one blueprint module per resource. Every module in this package
that defines `bp` (a Sanic Blueprint) is registered by `register()`."""

from __future__ import annotations

import importlib
import pkgutil

from sanic import Blueprint, Sanic


def register(app: Sanic) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        bp = getattr(module, "bp", None)
        if isinstance(bp, Blueprint):
            app.blueprint(bp)
