"""Channel accounts: settings with secrets encrypted at rest, and the connectors built from them.

A secret setting is stored as ``enc:<Fernet token>`` (key derived from ``CHANNEL_SECRET_KEY`` or
``SECRET_KEY``) or as ``env:NAME`` (read from the environment when used, never stored).
"""
from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import db
from app.counters import counters
from connectors.base import Connector, ConnectorError, connector_class
from models import ChannelAccount

ENCRYPTED = "enc:"
FROM_ENV = "env:"
CACHE_SECONDS = 30.0  # how long a process trusts its copy of an account's settings


def _fernet(app: Flask) -> Fernet:
    secret = app.config.get("CHANNEL_SECRET_KEY") or app.config["SECRET_KEY"]
    digest = hashlib.sha256(b"daogou-channel-secrets:" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal_settings(app: Flask, kind: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Encrypt the connector's secret settings (those not taken from the environment)."""
    secret_keys = connector_class(kind).secret_settings
    sealed = dict(settings)
    for key in secret_keys:
        value = sealed.get(key)
        if isinstance(value, str) and value and not value.startswith((ENCRYPTED, FROM_ENV)):
            sealed[key] = ENCRYPTED + _fernet(app).encrypt(value.encode()).decode()
    return sealed


def open_settings(app: Flask, settings: dict[str, Any]) -> dict[str, Any]:
    """Decrypt ``enc:`` values and resolve ``env:`` ones."""
    opened = {}
    for key, value in settings.items():
        if isinstance(value, str) and value.startswith(ENCRYPTED):
            try:
                value = _fernet(app).decrypt(value[len(ENCRYPTED):].encode()).decode()
            except InvalidToken:
                raise ConnectorError(f"setting {key!r} cannot be decrypted (SECRET_KEY changed?)") from None
        elif isinstance(value, str) and value.startswith(FROM_ENV):
            value = os.environ.get(value[len(FROM_ENV):], "")
        opened[key] = value
    return opened


def add_account(session: Session, app: Flask, kind: str, name: str, settings: dict[str, Any]) -> ChannelAccount:
    """Create or update a channel account; secrets are sealed before they are written."""
    cls = connector_class(kind)
    missing = [k for k in cls.required_settings if not settings.get(k)]
    row = session.scalar(select(ChannelAccount).where(ChannelAccount.kind == kind, ChannelAccount.name == name))
    if row is None:
        if missing:
            raise ValueError(f"missing settings: {', '.join(missing)}")
        row = ChannelAccount(kind=kind, name=name, settings={}, enabled=True)
        session.add(row)
    merged = {**(row.settings or {}), **seal_settings(app, kind, settings)}
    row.settings = merged
    session.flush()
    return row


class ChannelRegistry:
    """Builds one connector per account per process and keeps it (tokens, HTTP pools)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._cache: dict[tuple[str, str], tuple[float, Connector]] = {}
        self._lock = threading.Lock()
        self._redis = None

    def redis(self):
        if self._redis is None and self.app.config.get("REDIS_URL"):
            from redis import Redis

            self._redis = Redis.from_url(self.app.config["REDIS_URL"])
        return self._redis

    def connector(self, kind: str, name: str | None) -> Connector:
        key = (kind, name or "")
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
            if cached and now - cached[0] < CACHE_SECONDS:
                return cached[1]
        conn = self._build(kind, name)
        with self._lock:
            self._cache[key] = (now, conn)
        return conn

    def _build(self, kind: str, name: str | None) -> Connector:
        cls = connector_class(kind)
        with db.get_db(self.app).Session() as s:
            q = select(ChannelAccount).where(ChannelAccount.kind == kind, ChannelAccount.enabled.is_(True))
            row = s.scalar(q.where(ChannelAccount.name == name) if name else q.order_by(ChannelAccount.id).limit(1))
        if row is None and cls.needs_account:
            raise ConnectorError(f"no enabled {kind} account {name or ''}".strip(), code="no_account")
        settings = open_settings(self.app, row.settings or {}) if row else {}
        transport_factory = self.app.config.get("CHANNEL_TRANSPORT_FACTORY")
        conn = cls(row.name if row else "", settings, transport_factory() if transport_factory else None)
        shared = getattr(conn, "use_shared_state", None)
        if shared is not None:
            shared(self.redis())
        conn.use_counters(counters(self.app))  # nonces seen, shared by every process
        return conn

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()


def registry(app: Flask | None = None) -> ChannelRegistry:
    return (app or current_app).extensions["daogou.channels"]
