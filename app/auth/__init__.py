"""Who is asking: staff sessions (Flask-Login), integrator bearer tokens, CSRF, role checks."""
from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, g, jsonify, request, session
from flask_login import LoginManager, current_user
from sqlalchemy import select, update

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


def _load_staff(login_id: str) -> Staff | None:
    """The staff member of a session, if it is still theirs: active, and begun in the current
    session generation (a logout or a password change since has ended it)."""
    staff_id, _, generation = login_id.partition(".")
    try:
        staff = db.session().get(Staff, int(staff_id))
    except (ValueError, OverflowError):
        return None
    if staff is None or not staff.active or generation != str(staff.session_version):
        return None
    return staff


def end_sessions(s, staff_id: int) -> None:
    """End every session of the staff member, on every device (the generation moves on)."""
    s.execute(update(Staff).where(Staff.id == staff_id).values(session_version=Staff.session_version + 1))


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
    # One connection at a time: a read session held open while waiting for a write connection
    # starves the pool when more integrator requests arrive at once than it has connections.
    with db.transaction() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
        if row is None or row.revoked_at is not None:
            return
        row.last_used_at = utcnow()
    g.api_token = row


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


def same_origin_post() -> bool:
    """Did a browser send this from one of our own pages? (Login CSRF: a cross-site form must not
    log the victim in to an account the attacker controls.)

    Browsers say where a request comes from: ``Sec-Fetch-Site``, else ``Origin``, else
    ``Referer``; a cross-site page can make them send ``Origin: null`` but not send none of
    them. A request naming no origin at all is not from a browser (an integrator, curl).
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if source is None:
        return True
    host = urlsplit(source).netloc.lower()
    # Behind a reverse proxy the Host we see may be the proxy's upstream name; the public one
    # arrives as X-Forwarded-Host. Neither header can be set by a cross-site page.
    forwarded = request.headers.get("X-Forwarded-Host", "")
    ours = {request.host.lower(), *(h.strip().lower() for h in forwarded.split(",") if h.strip())}
    return bool(host) and host in ours


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
