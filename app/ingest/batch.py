"""The machinery every ingestion action shares: the checked batch, its result and rejections,
one-query-per-kind lookups and multi-row writes (see ``app.ingest.actions``)."""
from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from app.i18n import t
from app.ingest import validate as v
from models import Role, Staff

_OWNER_ROLES = (Role.clerk, Role.manager)


@dataclass
class Rejection:
    index: int
    external_id: str | None
    fields: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "external_id": self.external_id, "fields": self.fields}


@dataclass
class IngestResult:
    """What a batch did: ``accepted`` counts objects that are now as sent (new, changed or
    already so); ``created``/``updated`` say how many rows were actually written."""

    accepted: int = 0
    created: int = 0
    updated: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "created": self.created, "updated": self.updated,
                "rejected": [r.to_dict() for r in self.rejected]}


class Batch:
    """The checked objects of one request, with the rejections collected so far."""

    def __init__(self, rows: Sequence[Any], check, key: str, tz: dt.tzinfo | None) -> None:
        self.tz = tz or v.brand_timezone(current_app.config["BRAND_TIMEZONE"])
        self.key = key
        self.result = IngestResult()
        self.valid: list[tuple[int, dict[str, Any]]] = []
        seen: dict[str, int] = {}
        for index, obj in enumerate(rows):
            values, errors = check(obj, self.tz)
            ext = values.get(key)
            if ext is not None and ext in seen and not errors:
                errors[key] = t("ingest.duplicate_in_batch", index=seen[ext])
            if errors:
                raw = obj.get(key) if isinstance(obj, dict) else None
                self.reject(index, raw if isinstance(raw, str) else ext, errors)
                continue
            seen[ext] = index
            self.valid.append((index, values))

    def reject(self, index: int, external_id: str | None, fields: dict[str, str]) -> None:
        self.result.rejected.append(Rejection(index, external_id, fields))

    def keys(self, name: str | None = None) -> set[str]:
        name = name or self.key
        return {values[name] for _, values in self.valid if values.get(name) is not None}

    def finish(self) -> IngestResult:
        self.result.rejected.sort(key=lambda r: r.index)
        return self.result


# Lookups: one query per kind for the whole batch ----------------------------------------------

def ids_by(session: Session, column, keys: Iterable[str], id_column) -> dict[str, int]:
    keys = list(keys)
    if not keys:
        return {}
    return dict(session.execute(select(column, id_column).where(column.in_(keys))).all())


def existing_rows(session: Session, model, key_column, keys: set[str], columns: list[str]) -> dict[str, dict[str, Any]]:
    if not keys:
        return {}
    table = model.__table__
    names = ["id", *columns]
    rows = session.execute(select(*(table.c[c] for c in names)).where(key_column.in_(list(keys))))
    # Plain strings for enum columns, so comparisons and messages see "paid", not OrderStatus.paid.
    # Only the columns typed as enums need looking at; the rest are taken as they come.
    enums = [c for c in names if getattr(table.c[c].type, "enum_class", None) is not None]
    key = key_column.key
    found = {}
    for row in rows:
        record = dict(zip(names, row))
        for c in enums:
            val = record[c]
            if isinstance(val, enum.Enum):
                record[c] = val.value
        found[record[key]] = record
    return found


def find_clerk_ids(session: Session, refs: set[str]) -> dict[str, int]:
    """Staff who may own followers, addressed by external id or username."""
    if not refs:
        return {}
    found: dict[str, int] = {}
    rows = session.execute(select(Staff.id, Staff.external_id, Staff.username).where(
        or_(Staff.external_id.in_(list(refs)), Staff.username.in_(list(refs))),
        Staff.active.is_(True), Staff.role.in_(_OWNER_ROLES)))
    for staff_id, external_id, username in rows:
        # An external id wins over someone else's identical username.
        if username in refs:
            found.setdefault(username, staff_id)
        if external_id in refs:
            found[external_id] = staff_id
    return found


# Writes: multi-row statements -----------------------------------------------------------------

def insert_returning_ids(session: Session, model, key: str, rows: list[dict[str, Any]]) -> dict[str, int]:
    if not rows:
        return {}
    table = model.__table__
    result = session.execute(insert(table).returning(table.c[key], table.c.id), rows)
    return dict(result.all())


def update_rows(session: Session, model, rows: list[dict[str, Any]]) -> None:
    """One executemany UPDATE per distinct set of changed columns (ORM bulk update by id)."""
    if rows:
        session.execute(update(model), rows)


def diff(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    return {k: val for k, val in wanted.items() if current.get(k) != val}
