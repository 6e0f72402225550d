"""Coupon actions: create a template, issue codes to customers, a clerk's gift (送券), gift budgets.

``issue_coupons`` is the one way a coupon comes to exist — the API, a clerk's gift and any care
task, campaign or automation call it. It locks the template row first, so concurrent issuing of one
template is serialised and its count and money budgets are never overspent; it is idempotent per
(template, customer, source): a retried request gets the codes it got the first time.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from app.config import brand_timezone
from app.coupons import terms
from app.coupons import validate as cv
from app.db import chunks
from app.errors import Conflict, Invalid, NotFound
from app.i18n import t
from models import Product, Role, Setting, Staff, utcnow
from models.coupons import Coupon, CouponKind, CouponSource, CouponState, CouponTemplate

GIFTS_KEY = "coupon_gifts"
DEFAULT_MONTHLY_GIFTS = 5


@dataclass
class IssueResult:
    issued: list[tuple[int, Coupon]] = field(default_factory=list)      # (customer id, coupon)
    refused: list[tuple[int, str]] = field(default_factory=list)        # (customer id, reason code)


def create_template(session: Session, body: Any, staff_id: int | None) -> CouponTemplate:
    """Check and store a coupon template; scope SKUs and categories must exist."""
    now = utcnow()
    values, errors = cv.check_template(body, brand_timezone(), now)
    scope = values.get("scope") or {}
    if scope.get("skus"):
        known = set(session.scalars(select(Product.sku).where(Product.sku.in_(scope["skus"]))))
        for i, sku in enumerate(scope["skus"]):
            if sku not in known:
                errors[f"scope.skus[{i}]"] = t("ingest.unknown_sku")
    if scope.get("categories"):
        known = set(session.scalars(select(Product.category).where(Product.category.in_(scope["categories"])).distinct()))
        for i, category in enumerate(scope["categories"]):
            if category not in known:
                errors[f"scope.categories[{i}]"] = t("coupons.unknown_category")
    if errors:
        raise Invalid(t("coupons.invalid_template"), errors)
    template = CouponTemplate(**{**values, "kind": CouponKind(values["kind"])}, created_by=staff_id, created_at=now)
    session.add(template)
    session.flush()
    return template


def _locked_template(session: Session, template_id: int, now: dt.datetime) -> CouponTemplate:
    template = session.scalar(select(CouponTemplate).where(CouponTemplate.id == template_id)
                              .with_for_update().execution_options(populate_existing=True))
    if template is None:
        raise NotFound(t("coupons.template_not_found"), {"template_id": t("coupons.template_not_found")})
    if not template.active:
        raise Invalid(t("coupons.template_inactive"), {"template_id": t("coupons.template_inactive")})
    if template.valid_to is not None and template.valid_to <= now:
        raise Invalid(t("coupons.template_ended"), {"template_id": t("coupons.template_ended")})
    return template


def issue_coupons(session: Session, template_id: int, customer_ids: list[int], *, source: str,
                  source_ref: str = "", issued_by: int | None = None, now: dt.datetime | None = None) -> IssueResult:
    """Issue one coupon of the template to each customer, as far as limits and budgets allow.

    All-or-nothing per customer: each either gets a code (or the one this source already gave
    them) or is refused with a reason (``per_customer_limit``, ``budget_count``, ``budget_amount``).
    """
    now = now or utcnow()
    template = _locked_template(session, template_id, now)
    wanted = list(dict.fromkeys(customer_ids))
    result = IssueResult()
    existing: dict[int, Coupon] = {}
    held: dict[int, int] = {}
    for part in chunks(wanted):
        existing.update({c.customer_id: c for c in session.scalars(select(Coupon).where(
            Coupon.template_id == template.id, Coupon.customer_id.in_(part),
            Coupon.source == source, Coupon.source_ref == source_ref))})
        held.update(session.execute(select(Coupon.customer_id, func.count()).where(
            Coupon.template_id == template.id, Coupon.customer_id.in_(part), Coupon.state != CouponState.void)
            .group_by(Coupon.customer_id)).all())
    face = template.face_value_fen
    room_count = template.budget_count - template.issued_count if template.budget_count is not None else None
    room_fen = template.budget_fen - template.reserved_fen if template.budget_fen is not None else None
    rows: list[dict[str, Any]] = []
    expires_at = terms.expiry(now, template.valid_days, template.valid_to, brand_timezone())
    for customer_id in wanted:
        if customer_id in existing:
            result.issued.append((customer_id, existing[customer_id]))
        elif held.get(customer_id, 0) >= template.per_customer_limit:
            result.refused.append((customer_id, "per_customer_limit"))
        elif room_count is not None and len(rows) >= room_count:
            result.refused.append((customer_id, "budget_count"))
        elif room_fen is not None and (len(rows) + 1) * face > room_fen:
            result.refused.append((customer_id, "budget_amount"))
        else:
            rows.append({"template_id": template.id, "customer_id": customer_id, "code": terms.new_code(),
                         "issued_at": now, "valid_from": template.valid_from, "expires_at": expires_at,
                         "source": CouponSource(source), "source_ref": source_ref, "issued_by": issued_by,
                         "state": CouponState.issued})
    if rows:
        _take_budget(session, template, len(rows), len(rows) * face)
        for part in chunks(rows, 500):
            session.execute(insert(Coupon.__table__), list(part))
        codes = [r["code"] for r in rows]
        created = {c.code: c for part in chunks(codes) for c in session.scalars(select(Coupon).where(Coupon.code.in_(part)))}
        result.issued += [(r["customer_id"], created[r["code"]]) for r in rows]
    return result


def _take_budget(session: Session, template: CouponTemplate, count: int, fen: int) -> None:
    """Move the budget counters, only if they still allow it (the template row is locked, so
    this cannot fail unless someone wrote around the lock: then nothing is issued)."""
    t_ = CouponTemplate.__table__
    stmt = (update(t_).where(t_.c.id == template.id)
            .where((t_.c.budget_count.is_(None)) | (t_.c.issued_count + count <= t_.c.budget_count))
            .where((t_.c.budget_fen.is_(None)) | (t_.c.reserved_fen + fen <= t_.c.budget_fen))
            .values(issued_count=t_.c.issued_count + count, reserved_fen=t_.c.reserved_fen + fen))
    if session.execute(stmt).rowcount != 1:
        raise Conflict(t("coupons.budget_moved"), {"template_id": t("coupons.budget_moved")})


# A clerk's gift (送券) within the monthly budget head office sets ---------------------------------

def gift_budgets(session: Session) -> dict[str, Any]:
    """``{"default": n, "clerks": {staff_id: n}}``: coupons each clerk may gift per month."""
    row = session.get(Setting, GIFTS_KEY)
    value = dict(row.value) if row is not None else {}
    return {"default": int(value.get("default", DEFAULT_MONTHLY_GIFTS)),
            "clerks": {int(k): int(n) for k, n in (value.get("clerks") or {}).items()}}


def save_gift_budgets(session: Session, body: Any, staff_id: int | None) -> dict[str, Any]:
    """``{"default": 5, "clerks": [{"clerk": "E100" or username or id, "count": 10}]}``."""
    errors: dict[str, str] = {}
    if not isinstance(body, dict):
        raise Invalid(t("coupons.body_object"), {"body": t("coupons.body_object")})
    current = gift_budgets(session)
    default = current["default"]
    if body.get("default") is not None:
        default = cv._parse(errors, "default", lambda r: cv.v.count(r, 0, 1000), body["default"])
    clerks = dict(current["clerks"])
    raw = body.get("clerks") or []
    if not isinstance(raw, list):
        errors["clerks"] = t("ingest.not_list")
        raw = []
    for i, item in enumerate(raw):
        ref = item.get("clerk") if isinstance(item, dict) else None
        staff = _clerk(session, ref)
        if staff is None:
            errors[f"clerks[{i}].clerk"] = t("ingest.unknown_clerk")
            continue
        count = cv._parse(errors, f"clerks[{i}].count", lambda r: cv.v.count(r, 0, 1000), item.get("count"))
        if count is not None:
            clerks[staff.id] = count
    if errors:
        raise Invalid(t("coupons.invalid_budgets"), errors)
    value = {"default": default, "clerks": {str(k): n for k, n in clerks.items()}}
    row = session.get(Setting, GIFTS_KEY)
    if row is None:
        session.add(Setting(key=GIFTS_KEY, value=value, updated_by=staff_id))
    else:
        row.value, row.updated_by = value, staff_id
    return gift_budgets(session)


def _clerk(session: Session, ref: Any) -> Staff | None:
    if isinstance(ref, int) and not isinstance(ref, bool):
        staff = session.get(Staff, ref)
    elif isinstance(ref, str) and ref.strip():
        staff = session.scalar(select(Staff).where((Staff.external_id == ref.strip()) | (Staff.username == ref.strip())))
    else:
        return None
    return staff if staff is not None and staff.role in (Role.clerk, Role.manager) else None


def month_start(now: dt.datetime) -> dt.datetime:
    local = now.astimezone(brand_timezone())
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(dt.timezone.utc)


def gifts_left(session: Session, staff: Staff, now: dt.datetime | None = None) -> dict[str, int]:
    """This month's gift budget of the clerk: allowed, used, left."""
    now = now or utcnow()
    budgets = gift_budgets(session)
    allowed = budgets["clerks"].get(staff.id, budgets["default"])
    used = session.scalar(select(func.count()).select_from(Coupon).where(
        Coupon.source == CouponSource.clerk, Coupon.issued_by == staff.id, Coupon.issued_at >= month_start(now))) or 0
    return {"allowed": allowed, "used": used, "left": max(allowed - used, 0)}


def gift_coupon(session: Session, staff: Staff, customer_id: int, template_id: Any) -> tuple[Coupon, bool]:
    """A clerk gives a customer they serve a coupon (送券); return it and whether it is new.

    The staff row is locked so two taps at once cannot both take the last coupon of the month.
    Gifting the same template to the same customer again this month returns the first coupon.
    """
    now = utcnow()
    errors: dict[str, str] = {}
    template_id = cv._parse(errors, "template_id", cv.row_id, template_id)
    if errors:
        raise Invalid(t("coupons.invalid_gift"), errors)
    session.execute(select(Staff.id).where(Staff.id == staff.id).with_for_update())
    ref = f"{staff.id}:{now.astimezone(brand_timezone()):%Y-%m}"
    already = session.scalar(select(Coupon).where(Coupon.template_id == template_id, Coupon.customer_id == customer_id,
                                                  Coupon.source == CouponSource.clerk, Coupon.source_ref == ref))
    if already is None and gifts_left(session, staff, now)["left"] <= 0:
        raise Conflict(t("coupons.gift_budget_spent"), {"template_id": t("coupons.gift_budget_spent")})
    result = issue_coupons(session, template_id, [customer_id], source="clerk", source_ref=ref,
                           issued_by=staff.id, now=now)
    if result.refused:
        reason = t(f"coupons.refused.{result.refused[0][1]}")
        raise Conflict(reason, {"template_id": reason})
    return result.issued[0][1], already is None
