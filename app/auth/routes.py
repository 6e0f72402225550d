"""Login (throttled, same-origin only), logout (ends the session on the server), who-am-I, and
changing one's own password."""
from __future__ import annotations

import functools

from flask import Blueprint, jsonify, request, session
from flask_login import login_user, logout_user
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from app import audit, db
from app.auth import csrf_token, current_staff, end_sessions, passwords, same_origin_post, staff_required, throttle
from app.config import brand_timezone
from app.errors import Forbidden, Invalid
from app.i18n import LOCALES, t
from models import Staff, utcnow

bp = Blueprint("auth", __name__)


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the username is unknown, so both paths take the same time."""
    return generate_password_hash("no such user")


def staff_json(staff: Staff) -> dict:
    return {
        "id": staff.id,
        "username": staff.username,
        "display_name": staff.display_name,
        "role": staff.role.value,
        "role_label": t(f"role.{staff.role.value}"),
        "store_id": staff.store_id,
        "store_name": staff.store.name if staff.store else None,
        "locale": session.get("locale", staff.locale),
        "must_change_password": staff.must_change_password,
    }


@bp.post("/auth/login")
def login():
    if not same_origin_post():
        raise Forbidden(t("auth.cross_site_login"), {"Origin": "not this site"})
    data = request.get_json(silent=True) if request.is_json else request.form
    data = data or {}
    username = str(data.get("username", "")).strip()
    password = str(data.get("password", ""))
    fields = {k: t("error.required") for k, v in (("username", username), ("password", password)) if not v}
    if fields:
        return jsonify({"error": t("auth.invalid_credentials"), "fields": fields}), 422
    if len(username) > 64 or len(password) > passwords.MAX_LENGTH:  # no such account; not worth hashing
        return jsonify({"error": t("auth.invalid_credentials")}), 401
    throttle.begin_attempt(username)
    staff = db.session().scalar(select(Staff).where(Staff.username == username))
    ok = check_password_hash(staff.password_hash if staff else _dummy_hash(), password)
    if staff is None or not ok or not staff.active:
        throttle.failed(username)
        with db.transaction() as s:  # the name tried is kept (it may be nobody's); never the password
            audit.record(s, "login_failed", None, username=username,
                         store_id=staff.store_id if staff is not None else None)
        return jsonify({"error": t("auth.invalid_credentials")}), 401
    throttle.succeeded(username)
    with db.transaction() as s:
        audit.record(s, "login", staff, subject=("staff", staff.id), store_id=staff.store_id)
    session.clear()
    session.permanent = True
    login_user(staff)
    session["locale"] = staff.locale
    return jsonify({"me": staff_json(staff), "csrf_token": csrf_token(), "clock": business_clock()})


@bp.post("/auth/logout")
def logout():
    """Log out here and end the session on the server: a copy of the cookie stops working too
    (and so do the staff member's other sessions: there is one generation per staff member)."""
    staff = current_staff()
    if staff is not None:
        with db.transaction() as s:
            end_sessions(s, staff.id)
            audit.record(s, "logout", staff, subject=("staff", staff.id), store_id=staff.store_id)
    logout_user()
    session.clear()
    return jsonify({"ok": True})


@bp.post("/api/v1/me/password")
@staff_required()
def change_password():
    """Set one's own password: the current one, and a new one of at least 8 characters that is
    not a common one. Other sessions end; this one goes on."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Invalid(t("auth.password_not_changed"), {"body": "a JSON object"})
    current, new = data.get("current_password"), data.get("new_password")
    staff = current_staff()
    fields = {}
    if not isinstance(current, str) or not current:
        fields["current_password"] = t("error.required")
    problem = passwords.weakness(new, staff.username)
    if problem:
        fields["new_password"] = problem
    elif new == current:
        fields["new_password"] = t("auth.password_unchanged")
    if fields:
        raise Invalid(t("auth.password_not_changed"), fields)
    throttle.begin_attempt(staff.username)
    if len(current) > passwords.MAX_LENGTH or not check_password_hash(staff.password_hash, current):
        throttle.failed(staff.username)
        raise Invalid(t("auth.password_not_changed"), {"current_password": t("auth.wrong_current_password")})
    throttle.succeeded(staff.username)
    with db.transaction() as s:
        row = s.get(Staff, staff.id)
        passwords.set_password(row, new, chosen_by_owner=True)
        audit.record(s, "password_changed", row, subject=("staff", row.id), store_id=row.store_id)
        s.flush()
        login_user(row)  # this session carries on in the new generation
        body = {"me": staff_json(row), "csrf_token": csrf_token()}
    return jsonify(body)


@bp.get("/api/v1/me")
@staff_required()
def me():
    return jsonify({"me": staff_json(current_staff()), "csrf_token": csrf_token(), "clock": business_clock()})


def business_clock() -> dict[str, str]:
    """The business time and zone the browser shows and reckons with (not the phone's own clock)."""
    now, zone = utcnow(), brand_timezone()
    return {"now": now.isoformat(), "timezone": str(zone), "period": now.astimezone(zone).strftime("%Y-%m")}


@bp.post("/api/v1/me/locale")
@staff_required()
def set_locale():
    locale = (request.get_json(silent=True) or {}).get("locale")
    if locale not in LOCALES:
        return jsonify({"error": "unknown locale", "fields": {"locale": f"one of {', '.join(LOCALES)}"}}), 422
    with db.transaction() as s:
        s.get(Staff, current_staff().id).locale = locale
    session["locale"] = locale
    return jsonify({"locale": locale})
