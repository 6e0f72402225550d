"""``GET /api/v1/followers``: the follower book, scoped by role (clerk: own; manager: store; hq: all)."""
from __future__ import annotations

from collections import defaultdict

from flask import Blueprint, jsonify, request
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from app import db
from app.auth import current_staff, staff_required
from app.customers.serialize import follower_json, tag_label
from app.errors import Invalid
from app.params import query_int
from app.scoping import where_visible
from assistant.segments import STAGES
from models import Customer, CustomerTag, Tag

bp = Blueprint("followers", __name__, url_prefix="/api/v1")
MAX_PER_PAGE = 100
TAG_CHIPS = 12  # tag filter chips offered at most


def _search(q: str):
    """Name contains q; a run of digits also matches the phone's tail (尾号)."""
    clauses = [Customer.name.contains(q, autoescape=True)]
    if q.isdigit() and 3 <= len(q) <= 11:
        clauses.append(Customer.phone.endswith(q, autoescape=True))
    return or_(*clauses)


@bp.get("/followers")
@staff_required()
def followers():
    staff = current_staff()
    page = query_int("page", 1, low=1, high=100_000)
    per_page = query_int("per_page", 20, low=1, high=MAX_PER_PAGE)
    scope = [where_visible(staff)]
    q = (request.args.get("q") or "").strip()
    if len(q) > 40:
        raise Invalid("invalid query", {"q": "at most 40 characters"})
    if q:
        scope.append(_search(q))
    tag = (request.args.get("tag") or "").strip()
    by_tag = [_has_tag(tag)] if tag else []
    stages = [s for s in (request.args.get("stage") or "").split(",") if s]
    for s in stages:
        if s not in STAGES:
            raise Invalid("invalid query", {"stage": f"one of {', '.join(STAGES)}"})
    by_stage = [Customer.stage.in_(stages)] if stages else []
    s = db.session()
    # Chip counts ignore their own filter, so the chips show what each choice would give.
    stage_counts = dict(s.execute(select(Customer.stage, func.count()).where(*scope, *by_tag)
                                  .group_by(Customer.stage)).all())
    listed = scope + by_tag + by_stage
    total = s.scalar(select(func.count()).select_from(Customer).where(*listed))
    rows = list(s.scalars(
        select(Customer).where(*listed).options(selectinload(Customer.tags).selectinload(CustomerTag.tag))
        .order_by(Customer.last_paid_at.desc().nulls_last(), Customer.id.desc())
        .offset((page - 1) * per_page).limit(per_page)))
    counts: dict[str, int] = defaultdict(int)
    for stage, n in stage_counts.items():
        counts[stage.value if stage is not None else "untagged"] += n
    return jsonify({"items": [follower_json(c) for c in rows], "total": total, "page": page,
                    "per_page": per_page, "stages": counts,
                    "tags": _tag_chips(s, scope + by_stage, tag)})


def _has_tag(name: str):
    return (select(CustomerTag.customer_id).join(Tag, Tag.id == CustomerTag.tag_id)
            .where(CustomerTag.customer_id == Customer.id, Tag.name == name).exists())


def _tag_chips(s, where: list, chosen: str) -> list[dict]:
    """The tags the listed followers carry most (stage tags have their own chips), with how many
    each would show; the chosen tag is always among them."""
    q = (select(Tag, func.count())
         .join(CustomerTag, CustomerTag.tag_id == Tag.id).join(Customer, Customer.id == CustomerTag.customer_id)
         .where(*where, or_(Tag.group.is_(None), Tag.group != "stage")).group_by(Tag.id))
    rows = s.execute(q.order_by(func.count().desc(), Tag.name).limit(TAG_CHIPS)).all()
    if chosen and chosen not in {tag.name for tag, _n in rows}:
        rows += s.execute(q.where(Tag.name == chosen)).all()
    return [{"name": tag.name, "label": tag_label(tag), "count": n, "source": tag.source.value}
            for tag, n in rows]
