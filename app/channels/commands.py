"""``flask channel add KIND NAME --set key=value…``, ``flask channel list`` and ``flask channel kinds``."""
from __future__ import annotations

import json

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from app import db
from app.channels.accounts import ENCRYPTED, add_account
from connectors.base import ConnectorError
from connectors.registry import channel_classes, channel_kinds, is_channel
from models import ChannelAccount


def _parse_sets(pairs: tuple[str, ...]) -> dict[str, object]:
    settings: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not key=value", param_hint="--set")
        # Structured settings (staff_map) are given as JSON objects.
        settings[key] = json.loads(value) if value.startswith("{") else value
    return settings


def init_app(app: Flask) -> None:
    group = AppGroup("channel", help="Configure channel accounts.")

    @group.command("add")
    @click.argument("kind")
    @click.argument("name")
    @click.option("--set", "pairs", multiple=True, metavar="KEY=VALUE",
                  help="a setting; a value env:NAME is read from the environment at use")
    def add(kind: str, name: str, pairs: tuple[str, ...]) -> None:
        """Add or update a channel account (secrets are stored encrypted)."""
        if not is_channel(kind):
            raise click.BadParameter(f"one of {', '.join(sorted(channel_kinds()))}", param_hint="KIND")
        try:
            with db.get_db(app).transaction() as s:
                row = add_account(s, app, kind, name, _parse_sets(pairs))
        except (ValueError, ConnectorError) as exc:
            raise click.UsageError(str(exc)) from None
        click.echo(f"channel {row.kind}/{row.name} saved; callback URL /channels/{row.kind}/{row.name}")

    @group.command("list")
    def list_() -> None:
        """List channel accounts with their settings (secrets masked)."""
        with db.get_db(app).Session() as s:
            for row in s.scalars(select(ChannelAccount).order_by(ChannelAccount.kind, ChannelAccount.name)):
                shown = {k: ("***" if isinstance(v, str) and v.startswith(ENCRYPTED) else v)
                         for k, v in (row.settings or {}).items()}
                click.echo(f"{row.kind}/{row.name} {'on' if row.enabled else 'off'} {json.dumps(shown, ensure_ascii=False)}")

    @group.command("kinds")
    def kinds() -> None:
        """List the channel kinds this build knows, with the settings an account needs."""
        for cls in channel_classes():
            click.echo(f"{cls.kind} {cls.label} ({cls.label_en}) required: {', '.join(cls.required_settings) or '-'}"
                       f"; secret: {', '.join(cls.secret_settings) or '-'}")

    app.cli.add_command(group)
