"""The demo brand: ``flask seed-demo`` and ``generate_demo`` for benches and tests."""
from __future__ import annotations

from flask import Flask

from app.demo.generate import DemoNotEmpty, DemoSummary, generate_demo

__all__ = ["DemoNotEmpty", "DemoSummary", "generate_demo", "init_app"]


def init_app(app: Flask) -> None:
    from app.demo import commands

    commands.init_app(app)
