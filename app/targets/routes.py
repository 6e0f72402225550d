"""``/api/v1/targets``: the month's targets with progress (GET, everyone in their scope) and
setting them (PUT, store managers for their store and head office), as JSON or CSV (a ``text/csv``
body or a multipart ``file``)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy.exc import IntegrityError

from app import audit, db
from app.auth import current_staff, staff_required
from app.errors import Conflict, Invalid
from app.i18n import t
from app.params import query_period
from app.targets import actions, queries
from models import Role

bp = Blueprint("targets", __name__, url_prefix="/api/v1/targets")


@bp.get("")
@staff_required()
def month():
    return jsonify(queries.month_targets(db.session(), current_staff(), query_period()))


def _csv_text() -> str | None:
    """A CSV upload: a ``text/csv`` body, or a form's ``file`` (head office's paste or file)."""
    if request.mimetype == "text/csv":
        raw = request.get_data()
    elif "file" in request.files:
        raw = request.files["file"].read()
    else:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid(t("targets.error.invalid"), {"targets": t("targets.error.csv")}) from None


def _body() -> object:
    """The JSON body, or a CSV upload (the month in ``?period=`` or the form) in the same shape."""
    text = _csv_text()
    if text is None:
        return request.get_json(silent=True)
    return {"period": request.values.get("period"), "targets": actions.entries_from_csv(text)}


@bp.put("")
@staff_required(Role.manager, Role.hq)
def put():
    actor = current_staff()
    body = _body()
    try:
        with db.transaction() as s:
            period, wanted = actions.validate(s, actor, body)
            changed = actions.set_targets(s, actor, period, wanted)
            if changed:
                audit.record(s, "targets_set", actor, subject=("period", period), store_id=actor.store_id,
                             month=period, changed=changed)
    except IntegrityError:  # another request set the same target at the same moment
        raise Conflict(t("targets.error.conflict")) from None
    return jsonify({**queries.month_targets(db.session(), actor, period), "changed": changed,
                    "unchanged": len(wanted) - changed})
