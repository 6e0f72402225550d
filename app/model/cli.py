"""``flask model train``, ``flask model report`` and ``flask model score``."""
from __future__ import annotations

import time

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from app import db
from models import ModelVersion


def init_app(app: Flask) -> None:
    model_cli = AppGroup("model", help="Train, evaluate and apply the propensity ranker.")

    @model_cli.command("train")
    @click.option("--promote/--no-promote", default=None,
                  help="force promotion either way (default: promote only if it beats the current version)")
    def train(promote: bool | None) -> None:
        """Backtest and train on the brand's orders; store a model version with its metrics."""
        from app.model import service

        started = time.perf_counter()
        with db.get_db(app).transaction() as s:
            version = service.train(s, app, promote=promote, log=click.echo)
            metrics, is_current, name = version.metrics, version.is_current, version.name
        _print_summary(metrics)
        state = "promoted to current" if is_current else "kept (the current version is better)"
        if metrics["fallback"]:
            click.echo("too little history to learn from: this version ranks by the transparent rules")
        click.echo(f"{name}: {state}; {time.perf_counter() - started:.1f}s")

    @model_cli.command("report")
    @click.option("--all", "show_all", is_flag=True, help="every version, not only the current one")
    def report(show_all: bool) -> None:
        """Print the backtest table of the current model version (or all versions)."""
        with db.get_db(app).Session() as s:
            stmt = select(ModelVersion).order_by(ModelVersion.created_at)
            if not show_all:
                stmt = stmt.where(ModelVersion.is_current.is_(True))
            versions = list(s.scalars(stmt))
        if not versions:
            raise click.ClickException("no model version yet: run `flask model train`")
        for v in versions:
            flag = " (current)" if v.is_current else ""
            click.echo(f"\n{v.name}{flag}: trained {v.metrics.get('trained_at')}, "
                       f"{v.metrics.get('n_customers')} customers, fallback={v.metrics.get('fallback')}")
            _print_summary(v.metrics)

    @model_cli.command("score")
    def score() -> None:
        """Score every customer with the current model (the nightly batch)."""
        from app.model import service

        started = time.perf_counter()
        with click.progressbar(length=1, label="writing scores") as bar:
            def progress(batches):
                bar.length = max(len(batches), 1)
                for batch in batches:
                    yield batch
                    bar.update(1)

            n = service.score_all(app, progress=progress, log=click.echo)
        click.echo(f"scored {n} customers in {time.perf_counter() - started:.1f}s")

    app.cli.add_command(model_cli)


def _print_summary(metrics: dict) -> None:
    import pandas as pd

    from assistant.backtest import format_table

    summary = pd.DataFrame(metrics.get("summary", []))
    if summary.empty:
        click.echo("no backtest: the history is shorter than a horizon plus a training window")
        return
    click.echo(format_table(summary.fillna(float("nan"))))
    click.echo(f"beats BG/NBD on AP and lift@5% at every horizon: {metrics.get('beats_bgnbd')}")
