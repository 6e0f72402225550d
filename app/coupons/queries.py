"""Reading coupons: a customer's usable coupons (``held_coupons``), their whole list, and the
template figures head office watches (issued, redeemed, expired, budget used, redemption rate).

``held_coupons`` is what other areas import — the customer's personal page, the profile sheet and
drafting (a draft may mention a coupon only when the customer holds one).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from app.config import brand_timezone
from app.coupons import terms
from app.i18n import negotiate_locale, t
from assistant.categories import category_label
from models import Customer, Product, utcnow
from models.coupons import COUPON_KINDS, Coupon, CouponState, CouponTemplate
from models.money import yuan


def expires_label(expires_at: dt.datetime) -> str:
    """"12月1日到期" in the brand's timezone (a coupon ending at midnight ends the day before)."""
    last = (expires_at - dt.timedelta(microseconds=1)).astimezone(brand_timezone())
    return f"{last.month}月{last.day}日到期"


def _usable(now: dt.datetime):
    return and_(Coupon.state == CouponState.issued, Coupon.expires_at > now,
                or_(Coupon.valid_from.is_(None), Coupon.valid_from <= now))


def _coupon_json(coupon: Coupon, template: CouponTemplate) -> dict[str, Any]:
    return {
        "code": coupon.code,
        "title": terms.title(template.kind, template.value_fen, template.percent, template.threshold_fen),
        "value_label": terms.value_label(template.kind, template.value_fen, template.percent, template.cap_fen),
        "scope_label": terms.scope_label(template.scope),
        "expires_at": coupon.expires_at.isoformat(),
        "expires_label": expires_label(coupon.expires_at),
        "template_id": template.id,
        "name": template.name,
        # For drafting's guardrails: the amounts this coupon lets a message quote.
        "amount_fen": template.value_fen if template.kind != "percent_off" else template.cap_fen,
        "threshold_fen": template.threshold_fen,
    }


def held_coupons(session: Session, customer_id: int, now: dt.datetime | None = None,
                 first_from: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """The customer's coupons usable now, soonest to expire first — those issued from
    ``first_from`` (source, source_ref: the task a personal page came with) before the rest:
    ``{code, title ("满200减20"), value_label ("¥20"), expires_at (ISO, UTC), expires_label, …}``."""
    now = now or utcnow()
    order = [Coupon.expires_at, Coupon.id]
    if first_from is not None:
        order.insert(0, case((and_(Coupon.source == first_from[0], Coupon.source_ref == first_from[1]), 0), else_=1))
    rows = session.execute(select(Coupon, CouponTemplate).join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
                           .where(Coupon.customer_id == customer_id, _usable(now))
                           .order_by(*order))
    return [_coupon_json(c, tpl) for c, tpl in rows]


def held_coupons_of(session: Session, customer_ids: list[int], now: dt.datetime | None = None) -> dict[int, list[dict[str, Any]]]:
    """``held_coupons`` for many customers with one query."""
    now = now or utcnow()
    found: dict[int, list[dict[str, Any]]] = {cid: [] for cid in customer_ids}
    if not customer_ids:
        return found
    rows = session.execute(select(Coupon, CouponTemplate).join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
                           .where(Coupon.customer_id.in_(customer_ids), _usable(now))
                           .order_by(Coupon.expires_at, Coupon.id))
    for c, tpl in rows:
        found[c.customer_id].append(_coupon_json(c, tpl))
    return found


def state_of(coupon: Coupon, now: dt.datetime) -> str:
    """The state a person should see: an issued coupon past its end is expired."""
    if coupon.state == CouponState.issued and coupon.expires_at <= now:
        return CouponState.expired.value
    return coupon.state.value


def customer_coupons(session: Session, customer_id: int, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Every coupon the customer was issued, newest first, with its state and (if used) the discount."""
    now = now or utcnow()
    rows = session.execute(select(Coupon, CouponTemplate).join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
                           .where(Coupon.customer_id == customer_id)
                           .order_by(Coupon.issued_at.desc(), Coupon.id.desc()).limit(200))
    out = []
    for c, tpl in rows:
        state = state_of(c, now)
        out.append({**_coupon_json(c, tpl), "state": state, "usable": state == "issued" and (c.valid_from is None or c.valid_from <= now),
                    "issued_at": c.issued_at.isoformat(), "source": c.source.value,
                    "redeemed_at": c.redeemed_at.isoformat() if c.redeemed_at else None,
                    "discount": yuan(c.discount_fen)})
    return out


def template_stats(session: Session, now: dt.datetime | None = None,
                   template_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    """Per template: issued, redeemed, expired, void counts and the redeemed discount (one query)."""
    now = now or utcnow()
    expired = and_(Coupon.state == CouponState.issued, Coupon.expires_at <= now)
    q = (select(Coupon.template_id, func.count(),
                func.sum(case((Coupon.state == CouponState.redeemed, 1), else_=0)),
                func.sum(case((or_(Coupon.state == CouponState.expired, expired), 1), else_=0)),
                func.sum(case((Coupon.state == CouponState.void, 1), else_=0)),
                func.coalesce(func.sum(case((Coupon.state == CouponState.redeemed, Coupon.discount_fen), else_=0)), 0))
         .group_by(Coupon.template_id))
    if template_ids is not None:
        q = q.where(Coupon.template_id.in_(template_ids))
    return {tid: {"issued": int(n), "redeemed": int(r or 0), "expired": int(e or 0), "void": int(v or 0),
                  "discount_fen": int(d or 0)} for tid, n, r, e, v, d in session.execute(q)}


def template_json(template: CouponTemplate, stats: dict[str, int] | None = None) -> dict[str, Any]:
    """One template as the API and the head-office page show it, with its figures."""
    stats = stats or {"issued": 0, "redeemed": 0, "expired": 0, "void": 0, "discount_fen": 0}
    live = stats["issued"] - stats["void"]
    tz = brand_timezone()
    return {
        "id": template.id, "name": template.name, "kind": template.kind.value,
        "title": terms.title(template.kind, template.value_fen, template.percent, template.threshold_fen),
        "value_label": terms.value_label(template.kind, template.value_fen, template.percent, template.cap_fen),
        "value": str(template.percent) if template.kind == "percent_off" else yuan(template.value_fen),
        "cap": yuan(template.cap_fen), "threshold": yuan(template.threshold_fen),
        "valid_days": template.valid_days,
        "valid_from": template.valid_from.astimezone(tz).isoformat() if template.valid_from else None,
        "valid_to": template.valid_to.astimezone(tz).isoformat() if template.valid_to else None,
        "scope": {"categories": list(template.scope.get("categories") or []),
                  "skus": list(template.scope.get("skus") or [])},
        "scope_label": terms.scope_label(template.scope),
        "per_customer_limit": template.per_customer_limit,
        "budget_count": template.budget_count, "budget_amount": yuan(template.budget_fen),
        "refund_returns_coupon": template.refund_returns_coupon, "active": template.active,
        "created_at": template.created_at.isoformat(),
        "issued": stats["issued"], "redeemed": stats["redeemed"], "expired": stats["expired"],
        "void": stats["void"],
        "outstanding": max(live - stats["redeemed"] - stats["expired"], 0),
        "redemption_rate": round(stats["redeemed"] / live, 4) if live > 0 else None,
        "cost": yuan(stats["discount_fen"]),
        "budget_used": {"count": template.issued_count, "amount": yuan(template.reserved_fen),
                        "count_share": round(template.issued_count / template.budget_count, 4)
                        if template.budget_count else None,
                        "amount_share": round(template.reserved_fen / template.budget_fen, 4)
                        if template.budget_fen else None},
    }


def list_templates(session: Session) -> list[dict[str, Any]]:
    templates = list(session.scalars(select(CouponTemplate).order_by(CouponTemplate.id.desc())))
    stats = template_stats(session)
    return [template_json(t, stats.get(t.id)) for t in templates]


def giftable_templates(session: Session, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Templates a clerk may gift now: active and not ended, newest first."""
    now = now or utcnow()
    rows = session.scalars(select(CouponTemplate).where(
        CouponTemplate.active.is_(True), or_(CouponTemplate.valid_to.is_(None), CouponTemplate.valid_to > now))
        .order_by(CouponTemplate.id.desc()))
    return [{"id": tp.id, "name": tp.name, "scope_label": terms.scope_label(tp.scope),
             "title": terms.title(tp.kind, tp.value_fen, tp.percent, tp.threshold_fen)} for tp in rows]


FORM_PRODUCTS = 2000


def form_choices(session: Session) -> dict[str, Any]:
    """What head office's coupon form offers, in the reader's words: kinds, categories, products."""
    locale = negotiate_locale()
    categories = session.scalars(select(Product.category).distinct().order_by(Product.category))
    products = session.execute(select(Product.sku, Product.name, Product.category).order_by(Product.name)
                               .limit(FORM_PRODUCTS))
    return {"kinds": [{"key": k, "label": t(f"coupons.kind.{k}")} for k in COUPON_KINDS],
            "categories": [{"key": c, "label": category_label(c, locale)} for c in categories if c],
            "products": [{"sku": sku, "name": name, "category": cat} for sku, name, cat in products]}


def customer_by_external_id(session: Session, external_id: str) -> Customer | None:
    return session.scalar(select(Customer).where(Customer.external_id == external_id))
