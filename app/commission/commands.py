"""``flask commission attribute [--since YYYY-MM-DD]``: attribute history in batch."""
from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import click
from flask import Flask
from flask.cli import AppGroup

from app import db
from app.commission.attribution import attribute_history
from app.commission.rules import seed_default_rules
from app.config import brand_timezone_name


def init_app(app: Flask) -> None:
    group = AppGroup("commission", help="Sales attribution and commission.")

    @group.command("attribute")
    @click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]),
                  help="only orders paid on or after this day (brand timezone)")
    @click.option("--chunk", default=500_000, show_default=True, help="orders per transaction")
    def attribute(since, chunk):
        """Attribute every paid order not attributed yet and book its commission (idempotent)."""
        since_at = since.replace(tzinfo=ZoneInfo(brand_timezone_name())).astimezone(dt.timezone.utc) if since else None
        started = time.perf_counter()

        def progress(totals):
            click.echo(f"  {totals['orders']:,} orders read, {totals['attributed']:,} attributions, "
                       f"{totals['earned']:,} earned lines, {totals['reversed']:,} reversals "
                       f"({time.perf_counter() - started:.1f}s)")

        totals = attribute_history(db.get_db(app), since=since_at, chunk_size=chunk, progress=progress)
        click.echo(f"done: {totals['orders']:,} orders, {totals['attributed']:,} attributions, "
                   f"{totals['earned']:,} earned, {totals['reversed']:,} reversed "
                   f"in {time.perf_counter() - started:.1f}s")

    @group.command("default-rules")
    def default_rules():
        """Give a brand without commission rules a starting set (for the demo brand)."""
        with db.transaction() as s:
            created = seed_default_rules(s)
        click.echo(f"{len(created)} commission rules added" if created else "commission rules exist; nothing added")

    app.cli.add_command(group)
