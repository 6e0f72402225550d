"""Project-wide commands: ``flask init-db`` and ``flask demo-logins``; areas add their own."""
from __future__ import annotations

import functools

import click
from flask import Flask
from sqlalchemy import select

from app import db
from models import Staff

DEMO_LOGINS = (("hq", "总部运营 head office"), ("manager1", "店长 store manager"), ("clerk1", "导购 clerk"))
DEMO_PASSWORD = "demo"


# Commands that work on a database that has not been migrated yet.
WITHOUT_SCHEMA = {"init-db"}


def init_app(app: Flask) -> None:
    """Register the project-wide commands, then guard every command (the areas' too) so that a
    database that was never migrated gets one clear line instead of a traceback."""
    _project_commands(app)
    for name, command in app.cli.commands.items():
        if name not in WITHOUT_SCHEMA:
            _require_schema(app, command)


def _require_schema(app: Flask, command: click.Command) -> None:
    callback = command.callback

    @functools.wraps(callback or (lambda: None))
    def guarded(*args, **kwargs):
        if not db.is_initialised(db.get_db(app)):
            click.echo("database not initialised: run `flask init-db`", err=True)
            raise SystemExit(1)
        return callback(*args, **kwargs) if callback else None

    command.callback = guarded


def _project_commands(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db() -> None:
        """Create or migrate the database to the latest revision."""
        heads = db.upgrade(db.get_db(app))
        click.echo(f"database at revision {', '.join(heads)} ({db.get_db(app).dialect})")

    @app.cli.command("demo-logins")
    def demo_logins() -> None:
        """Print the demo brand's logins, when the demo brand is loaded."""
        s = db.get_db(app).Session()
        present = set(s.scalars(select(Staff.username).where(Staff.username.in_([u for u, _ in DEMO_LOGINS]))))
        s.close()
        if not present:
            click.echo("No demo logins: this database holds no demo brand (flask seed-demo).")
            return
        url = f"http://{app.config['HOST']}:{app.config['PORT']}/"
        click.echo(f"\nDaogou is starting at {url}\nDemo logins (password '{DEMO_PASSWORD}'):")
        for username, role in DEMO_LOGINS:
            if username in present:
                click.echo(f"  {username:<10} {role}")
        click.echo("")
