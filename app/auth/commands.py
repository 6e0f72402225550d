"""``flask staff add`` and ``flask api-token create``."""
from __future__ import annotations

import secrets

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from app import db
from app.auth import create_api_token
from app.auth.passwords import is_weak
from models import ApiToken, Role, Staff, Store


def add_staff(s, username: str, role: Role, password: str, store_external_id: str | None = None,
              display_name: str | None = None, *, must_change_password: bool = True) -> Staff:
    """Create a staff member; clerks and managers need a store."""
    if s.scalar(select(Staff).where(Staff.username == username)) is not None:
        raise click.UsageError(f"username {username!r} is taken")
    store = None
    if store_external_id:
        store = s.scalar(select(Store).where(Store.external_id == store_external_id))
        if store is None:
            raise click.UsageError(f"--store {store_external_id!r}: no such store")
    elif role in (Role.clerk, Role.manager):
        raise click.UsageError(f"--store is required for role {role.value}")
    staff = Staff(username=username, display_name=display_name or username, role=role,
                  password_hash=generate_password_hash(password), store=store,
                  must_change_password=must_change_password or is_weak(password, username))
    s.add(staff)
    return staff


def init_app(app: Flask) -> None:
    staff_cli = AppGroup("staff", help="Manage staff logins.")

    @staff_cli.command("add")
    @click.argument("username")
    @click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
    @click.option("--store", "store_external_id", help="the store's external_id")
    @click.option("--password", help="default: a random one, printed once")
    @click.option("--name", "display_name")
    def add(username, role, store_external_id, password, display_name):
        """Add a clerk, store manager or head-office user."""
        shown = password or secrets.token_urlsafe(9)
        with db.transaction() as s:
            # A generated password was only ever meant to be the first one.
            add_staff(s, username, Role(role), shown, store_external_id, display_name,
                      must_change_password=not password)
        click.echo(f"added {role} {username}" + ("" if password else f" with password {shown}"))

    token_cli = AppGroup("api-token", help="Integrator bearer tokens.")

    @token_cli.command("create")
    @click.argument("name")
    def create(name):
        """Create a token; it is printed once and only its hash is stored."""
        with db.transaction() as s:
            if s.scalar(select(ApiToken).where(ApiToken.name == name)) is not None:
                raise click.UsageError(f"a token named {name!r} exists")
            token = create_api_token(s, name)
        click.echo(token)

    app.cli.add_command(staff_cli)
    app.cli.add_command(token_cli)
