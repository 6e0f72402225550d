"""Stores, staff (clerk / store manager / head office), integrator tokens and brand settings."""
from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import ForeignKey, String, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, BigId, str_enum, utcnow


class Role(str, enum.Enum):
    clerk = "clerk"        # 导购
    manager = "manager"    # 店长
    hq = "hq"              # 总部运营


class Store(Base):
    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    city: Mapped[str | None] = mapped_column(String(60))
    province: Mapped[str | None] = mapped_column(String(60))
    timezone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    staff: Mapped[list[Staff]] = relationship(back_populates="store")


class Staff(Base):
    """A person who logs in. Clerks own followers; managers see their store; head office all."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role, 16))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    locale: Mapped[str] = mapped_column(String(8), default="zh-CN")
    active: Mapped[bool] = mapped_column(default=True)
    left_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Set when someone else chose the password (a new account) or it is a weak one (the demo's);
    # cleared when the staff member sets their own.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Every login session carries the generation it began in; logging out or changing the
    # password moves it on, which ends every session begun before (a stolen cookie included).
    session_version: Mapped[int] = mapped_column(default=0, server_default=text("0"))

    store: Mapped[Store | None] = relationship(back_populates="staff")

    # Flask-Login protocol, kept here so the model needs no Flask import.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """The session's login id: the staff id and the session generation (``12.3``)."""
        return f"{self.id}.{self.session_version}"


class ApiToken(Base):
    """An integrator credential; only a SHA-256 of the token is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class Setting(Base):
    """Brand-wide configuration head office can change (tag thresholds, policy caps…)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[dict[str, Any]]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
