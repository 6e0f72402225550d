"""Each staff member's own notification choices: WeCom app messages, browser notifications,
and quiet times of their own (no WeCom notice then; the console still shows everything)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from app.config import brand_timezone
from app.errors import Invalid
from models import Setting, clock

DEFAULTS: dict[str, Any] = {"wecom": True, "browser": True, "quiet_from": None, "quiet_to": None}


def key(staff_id: int) -> str:
    return f"notify.staff.{staff_id}"


def preferences(s: Session, staff_id: int) -> dict[str, Any]:
    row = s.get(Setting, key(staff_id))
    stored = row.value if row is not None and isinstance(row.value, dict) else {}
    return {k: stored.get(k, v) for k, v in DEFAULTS.items()}


def _hhmm(name: str, value: Any) -> str | None:
    if value in (None, ""):
        return None
    try:
        return dt.time.fromisoformat(str(value)).strftime("%H:%M")
    except ValueError:
        raise Invalid("invalid time", {name: "a time of day, HH:MM"}) from None


def save(s: Session, staff_id: int, data: dict[str, Any]) -> dict[str, Any]:
    current = preferences(s, staff_id)
    for flag in ("wecom", "browser"):
        if flag in data:
            if not isinstance(data[flag], bool):
                raise Invalid("invalid preference", {flag: "true or false"})
            current[flag] = data[flag]
    for name in ("quiet_from", "quiet_to"):
        if name in data:
            current[name] = _hhmm(name, data[name])
    if (current["quiet_from"] is None) != (current["quiet_to"] is None):
        raise Invalid("invalid quiet time", {"quiet_to": "give both the start and the end, or neither"})
    row = s.get(Setting, key(staff_id))
    if row is None:
        s.add(Setting(key=key(staff_id), value=current, updated_by=staff_id))
    else:
        row.value, row.updated_by = current, staff_id
    s.flush()
    return current


def wants(s: Session, staff_id: int, kind: str) -> bool:
    """Whether the staff member wants a ``kind`` notice now (their switch and quiet time)."""
    prefs = preferences(s, staff_id)
    if not prefs.get(kind, True):
        return False
    start, end = prefs["quiet_from"], prefs["quiet_to"]
    if not start or not end:
        return True
    now = clock.now().astimezone(brand_timezone()).strftime("%H:%M")
    inside = start <= now < end if start <= end else (now >= start or now < end)
    return not inside
