"""``flask seed-demo``: load the demo brand into an empty database."""
from __future__ import annotations

import datetime as dt
import time

import click
from flask import Flask

from app import db
from app.demo.finish import finish_demo
from app.demo.generate import DemoNotEmpty, database_is_empty, default_now, generate_demo


def _parse_now(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time", param_hint="--now") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def init_app(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option("--customers", default=2000, show_default=True, type=click.IntRange(1, 10_000_000),
                  help="how many customers (about ten orders each)")
    @click.option("--seed", default=1, show_default=True, type=int,
                  help="random seed: the same seed (and --now) gives the same brand")
    @click.option("--now", "now_text", metavar="ISO_TIME",
                  help="when the two-year history ends (default: the start of this hour, UTC "
                       "unless an offset is given)")
    @click.option("--skip-setup", is_flag=True,
                  help="load the rows only: no commission rules, attribution, segments, task or "
                       "model (for benchmarks of the loader at 1M customers)")
    @click.option("--if-empty", is_flag=True,
                  help="when the database already has data, do nothing and exit 0 (for make run)")
    def seed_demo(customers: int, seed: int, now_text: str | None, skip_setup: bool, if_empty: bool) -> None:
        """Load the demo brand: 10 stores, 71 staff, ~100 products, customers, orders, chats.

        It only seeds an EMPTY database (no store, staff, product or customer), in one
        transaction, so demo logins (hq, manager1, clerk1 / password demo) never mix with real
        data. On a database that holds any of them it refuses with exit status 1, or with
        --if-empty it says why and exits 0. There is no --force: point DATABASE_URL at a fresh
        database instead.
        """
        now = _parse_now(now_text) or default_now()
        database = db.get_db(app)
        with database.Session() as s:
            empty = database_is_empty(s)
        if not empty:
            message = "seed-demo: the database already holds stores, staff, products or customers; not seeding."
            if if_empty:
                click.echo(message + " (--if-empty)")
                return
            raise click.ClickException(message + " Use a fresh database (DATABASE_URL).")
        started = time.perf_counter()
        click.echo(f"seed-demo: {customers:,} customers, seed {seed} ({database.dialect})")

        def progress(stage: str, done: int, total: int) -> None:
            elapsed = time.perf_counter() - started
            if stage == "customers":
                click.echo(f"  customers {done:,}/{total:,}  {elapsed:6.1f} s")
            else:
                click.echo(f"  {stage}…  {elapsed:6.1f} s")

        try:
            summary = generate_demo(database, customers=customers, seed=seed, now=now,
                                    progress=progress)
        except DemoNotEmpty as exc:  # another process seeded meanwhile
            raise click.ClickException(str(exc)) from exc
        click.echo(
            f"seed-demo: {summary.stores} stores, {summary.staff} staff, {summary.products} products, "
            f"{summary.customers:,} customers, {summary.orders:,} orders ({summary.order_items:,} items), "
            f"{summary.conversations} conversations, {summary.messages} messages in {summary.seconds:.1f} s")
        if not skip_setup:
            finish_demo(app, database, now, say=click.echo)
        click.echo(f"seed-demo: ready in {time.perf_counter() - started:.1f} s")
