"""Who is asking: staff sessions (Flask-Login), integrator bearer tokens, CSRF, role checks."""
from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, g, jsonify, request, session
from flask_login import LoginManager, current_user
from sqlalchemy import select

from app import db
from app.i18n import t
from models import ApiToken, Role, Staff, utcnow

F = TypeVar("F", bound=Callable[..., Any])
login_manager = LoginManager()
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(_load_staff)
    login_manager.unauthorized_handler(_unauthorized)
    app.before_request(_authenticate_bearer)
    app.before_request(_check_csrf)
    from app.auth.routes import bp

    app.register_blueprint(bp)
    from app.auth import commands

    commands.init_app(app)


def _load_staff(staff_id: str) -> Staff | None:
    staff = db.session().get(Staff, int(staff_id))
    return staff if staff is not None and staff.active else None


def _unauthorized():
    return jsonify({"error": t("auth.login_required")}), 401


# Integrator tokens --------------------------------------------------------------------------

def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(s, name: str) -> str:
    """Store a new token's hash under ``name`` and return the token (shown once)."""
    token = "dg_" + secrets.token_urlsafe(32)
    s.add(ApiToken(name=name, token_hash=hash_token(token), prefix=token[:8]))
    return token


def _authenticate_bearer() -> None:
    g.api_token = None
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return
    token = header[len("Bearer "):].strip()
    row = db.session().scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None:
        return
    g.api_token = row
    with db.transaction() as s:
        s.get(ApiToken, row.id).last_used_at = utcnow()


def current_staff() -> Staff | None:
    return current_user if current_user.is_authenticated else None  # type: ignore[return-value]


# CSRF: double-submit token kept in the signed session and sent back in a header --------------

def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def _check_csrf():
    if request.method in _SAFE_METHODS or g.get("api_token") is not None:
        return None
    if request.endpoint in {"auth.login"} or request.path.startswith("/channels/"):
        return None
    if not current_user.is_authenticated:
        return None  # the view's own login check answers 401
    sent = request.headers.get(CSRF_HEADER) or request.form.get("csrf_token", "")
    if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
        return jsonify({"error": t("auth.csrf"), "fields": {CSRF_HEADER: "missing or wrong"}}), 403
    return None


# Decorators ---------------------------------------------------------------------------------

def staff_required(*roles: Role | str) -> Callable[[F], F]:
    """A logged-in staff member, optionally of one of ``roles``."""
    wanted = {Role(r) for r in roles}

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            staff = current_staff()
            if staff is None:
                return _unauthorized()
            if wanted and staff.role not in wanted:
                return jsonify({"error": t("auth.forbidden")}), 403
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def integrator_required(view: F) -> F:
    """A bearer token, or a head-office session (for the console's import screens)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("api_token") is not None:
            return view(*args, **kwargs)
        staff = current_staff()
        if staff is None:
            return jsonify({"error": t("auth.login_required")}), 401
        if staff.role != Role.hq:
            return jsonify({"error": t("auth.forbidden")}), 403
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
