"""``flask retag``: recompute every customer's stage and automatic tags."""
from __future__ import annotations

import time

import click
from flask import Flask

from assistant.tags import RETAG_STEPS


def init_app(app: Flask) -> None:
    @app.cli.command("retag")
    def retag() -> None:
        """Recompute stages, derived columns and automatic tags of every customer (set-based)."""
        from app.followers.actions import retag_everyone

        started = time.perf_counter()
        with click.progressbar(length=len(RETAG_STEPS), label="retag", show_pos=True,
                               item_show_func=lambda s: s) as bar:
            count = retag_everyone(progress=lambda step: bar.update(1, step))
        click.echo(f"retagged {count} customers in {time.perf_counter() - started:.1f}s")
