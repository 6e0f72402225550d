"""Login, logout and who-am-I."""
from __future__ import annotations

from flask import Blueprint, jsonify, request, session
from flask_login import login_user, logout_user
from sqlalchemy import select
import functools

from werkzeug.security import check_password_hash, generate_password_hash

from app import db
from app.config import brand_timezone
from app.auth import csrf_token, current_staff, staff_required
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
    }


@bp.post("/auth/login")
def login():
    data = request.get_json(silent=True) if request.is_json else request.form
    data = data or {}
    username = str(data.get("username", "")).strip()
    password = str(data.get("password", ""))
    fields = {k: t("error.required") for k, v in (("username", username), ("password", password)) if not v}
    if fields:
        return jsonify({"error": t("auth.invalid_credentials"), "fields": fields}), 422
    staff = db.session().scalar(select(Staff).where(Staff.username == username))
    ok = check_password_hash(staff.password_hash if staff else _dummy_hash(), password)
    if staff is None or not ok or not staff.active:
        return jsonify({"error": t("auth.invalid_credentials")}), 401
    session.clear()
    session.permanent = True
    login_user(staff)
    session["locale"] = staff.locale
    return jsonify({"me": staff_json(staff), "csrf_token": csrf_token(), "clock": business_clock()})


@bp.post("/auth/logout")
def logout():
    logout_user()
    session.clear()
    return jsonify({"ok": True})


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
