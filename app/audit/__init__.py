"""The audit trail head office reads (操作记录): sign-ins, exports, handovers, staff and rule changes.

``record`` writes one row in the caller's transaction, so the trail has an action exactly when
the action happened. Callers name plain facts only; this module never takes a password, a token
or a message body. ``GET /api/v1/audit`` (head office) lists it, newest first.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, g, has_request_context, request
from sqlalchemy.orm import Session

from models import AuditEntry, Staff

ACTIONS = (
    "login", "login_failed", "logout", "password_changed",
    "export",
    "staff_added", "staff_deactivated", "followers_handed_over", "conversation_transferred",
    "rule_created", "rule_replaced", "rule_ended", "attribution_changed", "period_closed", "adjustment_added",
    "targets_set",
)
_DETAIL_LIMIT = 20           # keys
_VALUE_LIMIT = 200           # characters per value


def staff_name(staff: Staff) -> str:
    """How the trail names a colleague: the name people know, and the account that is unique."""
    return f"{staff.display_name or staff.username} ({staff.username})"[:120]


def actor_label(actor: Staff | None) -> str:
    if actor is not None:
        return staff_name(actor)
    token = g.get("api_token") if has_request_context() else None
    return f"令牌 {token.name}"[:120] if token is not None else "—"


def record(s: Session, action: str, actor: Staff | None, *, subject: tuple[str, Any] | None = None,
           store_id: int | None = None, **detail: Any) -> AuditEntry:
    """Add one entry for ``action`` by ``actor`` (None: an integrator's token, or nobody signed in)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    kind, ident = subject if subject is not None else (None, None)
    entry = AuditEntry(action=action, actor_id=actor.id if actor is not None else None, actor_label=actor_label(actor),
                       subject_kind=kind, subject_id=None if ident is None else str(ident)[:64], store_id=store_id,
                       address=(request.remote_addr or None) if has_request_context() else None,
                       detail={k: _plain(v) for k, v in list(detail.items())[:_DETAIL_LIMIT] if v is not None})
    s.add(entry)
    return entry


def _plain(value: Any) -> Any:
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value[:_DETAIL_LIMIT]]
    return str(value)[:_VALUE_LIMIT]


def init_app(app: Flask) -> None:
    from app.audit import routes

    app.register_blueprint(routes.bp)
