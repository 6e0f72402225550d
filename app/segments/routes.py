"""``POST /api/v1/segments/preview`` (count + sample), ``POST /api/v1/segments`` (save),
``GET /api/v1/segments`` (list), ``GET /api/v1/segments/fields`` (the filter language for forms).
Filters compile to one SQL query (assistant.segments)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.config import brand_timezone
from app import db
from app.auth import current_staff, staff_required
from app.customers.serialize import customer_summary
from app.errors import Conflict, Invalid
from app.i18n import t
from app.scoping import where_visible
from assistant.segments import FIELDS, STAGES, FilterError, compile_filter
from connectors.registry import channel_classes, channel_kinds
from models import Customer, Role, Segment, utcnow

bp = Blueprint("segments", __name__, url_prefix="/api/v1")
SAMPLE_SIZE = 10


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("request body must be a JSON object", {"filter": "required"})
    return body


def compiled(filter_: Any):
    """The WHERE clause of a filter, or a 422 naming the offending path."""
    if filter_ is None:
        raise Invalid("filter required", {"filter": "required"})
    try:
        return compile_filter(filter_, utcnow(), brand_timezone(), channels=channel_kinds())
    except FilterError as err:
        raise Invalid(f"invalid filter at {err.path}: {err.reason}", {err.path: err.reason}) from None


def segment_json(seg: Segment) -> dict[str, Any]:
    return {"id": seg.id, "name": seg.name, "filter": seg.filter, "description": seg.description,
            "created_by": seg.created_by, "created_at": seg.created_at.isoformat()}


@bp.post("/segments/preview")
@staff_required(Role.hq, Role.manager)
def preview():
    where = compiled(_body().get("filter"))
    scope = where_visible(current_staff())
    s = db.session()
    count = s.scalar(select(func.count()).select_from(Customer).where(where, scope))
    sample = s.scalars(select(Customer).where(where, scope).order_by(Customer.id).limit(SAMPLE_SIZE)).all()
    return jsonify({"count": count, "sample": [customer_summary(c) for c in sample]})


@bp.post("/segments")
@staff_required(Role.hq)
def create():
    body = _body()
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise Invalid("name required", {"name": "required"})
    if len(name) > 120:
        raise Invalid("name too long", {"name": "at most 120 characters"})
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise Invalid("description must be text", {"description": "must be a string"})
    compiled(body.get("filter"))
    try:
        with db.transaction() as s:
            seg = Segment(name=name.strip(), filter=body["filter"], description=description,
                          created_by=current_staff().id)
            s.add(seg)
            s.flush()
            out = segment_json(seg)
    except IntegrityError:
        raise Conflict("a segment with this name exists", {"name": "already used"}) from None
    return jsonify(out), 201


@bp.get("/segments")
@staff_required(Role.hq, Role.manager)
def index():
    rows = db.session().scalars(select(Segment).order_by(Segment.created_at.desc(), Segment.id.desc())).all()
    return jsonify({"segments": [segment_json(r) for r in rows]})


def _labelled(key: str) -> dict[str, str]:
    return {"label": t(key, "zh-CN"), "label_en": t(key, "en")}


def _choices(vocabulary: str | None) -> list[dict[str, str]] | None:
    if vocabulary == "stage":
        return [{"value": stage, **_labelled(f"stage.{stage}")} for stage in STAGES]
    if vocabulary == "channel":
        return [{"value": cls.kind, "label": cls.label, "label_en": cls.label_en} for cls in channel_classes()]
    return None


@bp.get("/segments/fields")
@staff_required()
def fields():
    """The filter fields with their labels, operators and choices: the segment builder's vocabulary."""
    return jsonify({"fields": [
        {"field": name, **_labelled(f"segments.field.{name}"), "value": spec.value, "during": spec.during,
         "ops": [{"op": op, **_labelled(f"segments.op.{op}")} for op in spec.ops], "choices": _choices(spec.vocabulary)}
        for name, spec in FIELDS.items()]})
