"""Reads of the ledger: a clerk's month, leaderboards, statements. Totals are always sums of
entries (never stored), so every screen agrees with the ledger."""
from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from app.commission.periods import closed_periods
from app.config import brand_timezone_name
from app.customers.serialize import yuan
from app.i18n import negotiate_locale, t
from assistant.attribution import RULES as ATTRIBUTION_RULES
from assistant.categories import category_label
from assistant.commission_rules import KINDS
from models import (Attribution, CommissionEntry, CommissionRule, Customer, Order, Product, Role, Staff, Store)
from models.money import parse_yuan

TERMINAL = ("completed", "refunded", "cancelled")
ORDERS_SHOWN = 200
PRODUCTS_OFFERED = 5000  # the rule form's product picker; a catalogue past this is searched by SKU


def month_bounds(period: str, tz: str) -> tuple[dt.datetime, dt.datetime]:
    zone = ZoneInfo(tz)
    year, month = int(period[:4]), int(period[5:7])
    start = dt.datetime(year, month, 1, tzinfo=zone)
    end = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc)


def day_bounds(now: dt.datetime, tz: str) -> tuple[dt.datetime, dt.datetime]:
    local = now.astimezone(ZoneInfo(tz))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    end = (start + dt.timedelta(days=1)).replace(tzinfo=ZoneInfo(tz))
    return start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc)


def _refund_share(sales: Any) -> Any:
    """SQL: the part of a clerk's sales refunded, in proportion to the order's refund."""
    refund = case(
        (Order.status.in_(("cancelled", "refunded")) & (Order.refund_amount_fen == 0), Order.amount_fen),
        (Order.refund_amount_fen > Order.amount_fen, Order.amount_fen),
        else_=Order.refund_amount_fen)
    return case((Order.amount_fen > 0, sales * refund / Order.amount_fen), else_=0)


def attributed_sales(session: Session, period: str, *where: Any,
                     by: Any = Attribution.clerk_id) -> dict[Any, tuple[int, int, int]]:
    """The month's attributed sales (业绩) grouped by ``by`` (a clerk, or ``Attribution.store_id``):
    (orders, sales fen, refunded share fen). The one definition the earnings screen, the
    leaderboards and the targets read; ``where`` may filter on ``Staff`` (the clerk)."""
    rows = session.execute(
        select(by, func.count(), func.coalesce(func.sum(Attribution.sales_fen), 0),
               func.coalesce(func.sum(_refund_share(Attribution.sales_fen)), 0))
        .select_from(Attribution).join(Order, Order.id == Attribution.order_id)
        .join(Staff, Staff.id == Attribution.clerk_id)
        .where(Attribution.period == period, *where).group_by(by))
    return {key: (int(n), int(gross), int(refunded)) for key, n, gross, refunded in rows}


def _settled_clause(closed: set[str]) -> Any:
    return and_(CommissionEntry.period.in_(sorted(closed) or [""]),
                (CommissionEntry.order_id.is_(None)) | Order.status.in_(TERMINAL))


def why_text(a: Attribution, names: dict[int, str], tz: str) -> str:
    """Why an order is this clerk's, in the reader's language."""
    detail = a.detail or {}
    zone = ZoneInfo(tz)
    if a.rule == "owner":
        since = detail.get("owner_since")
        if since:
            return t("commission.why.owner", since=dt.datetime.fromisoformat(since).astimezone(zone).date().isoformat())
        return t("commission.why.owner_plain")
    if a.rule == "last_touch" and detail.get("last_touch_at"):
        at = dt.datetime.fromisoformat(detail["last_touch_at"]).astimezone(zone)
        return t("commission.why.last_touch", at=at.strftime("%m-%d %H:%M"))
    if a.rule == "link":
        at = detail.get("link_at")
        return t("commission.why.link", at=dt.datetime.fromisoformat(at).astimezone(zone).strftime("%m-%d %H:%M")) \
            if at else t("commission.why.link_plain")
    if a.rule == "split":
        others = "、".join(names.get(c, str(c)) for c in detail.get("with", []))
        return t("commission.why.split", names=others, percent=f"{a.share_bp / 100:g}")
    return t("commission.why.in_store")


def explain(kind: str, rule: CommissionRule | None, base_fen: int, explanation: str | None) -> str:
    """The arithmetic of one ledger line, from its rule and base."""
    if explanation and explanation.startswith("mtd:"):
        return t("commission.explain.tier", mtd=explanation[4:])
    if explanation and explanation.startswith("refund:"):
        refund, _, amount = explanation[7:].partition("/")
        return t("commission.explain.refund", refund=refund, amount=amount)
    if kind == "adjusted":
        return explanation or ""
    if rule is not None and rule.kind == "percent":
        return t("commission.explain.percent", rate=f"{(rule.rate_bp or 0) / 100:g}", base=yuan(base_fen))
    if rule is not None and rule.kind == "fixed":
        return t("commission.explain.fixed", amount=yuan(rule.amount_fen or 0))
    return explanation or ""


def clerk_month(session: Session, clerk: Staff, period: str, now: dt.datetime) -> dict[str, Any]:
    """GET /api/v1/commission: today, the month (pending vs settled), rank, orders and why."""
    tz = brand_timezone_name()
    closed = closed_periods(session)
    start, end = month_bounds(period, tz)
    day_start, day_end = day_bounds(now, tz)

    entry_sums = session.execute(
        select(func.coalesce(func.sum(CommissionEntry.amount_fen), 0),
               func.coalesce(func.sum(case((_settled_clause(closed), CommissionEntry.amount_fen), else_=0)), 0))
        .select_from(CommissionEntry).outerjoin(Order, Order.id == CommissionEntry.order_id)
        .where(CommissionEntry.clerk_id == clerk.id, CommissionEntry.period == period)).one()
    month_commission, settled = int(entry_sums[0]), int(entry_sums[1])
    sales = attributed_sales(session, period, Attribution.clerk_id == clerk.id).get(clerk.id, (0, 0, 0))
    today_sales = session.scalar(
        select(func.coalesce(func.sum(Attribution.sales_fen), 0)).join(Order, Order.id == Attribution.order_id)
        .where(Attribution.clerk_id == clerk.id, Order.paid_at >= day_start, Order.paid_at < day_end))
    # Today's commission is that of today's orders (the same orders as today's sales), plus
    # adjustments booked today — not everything booked today, which after a history import
    # would be years of orders.
    today_commission = session.scalar(
        select(func.coalesce(func.sum(CommissionEntry.amount_fen), 0))
        .select_from(CommissionEntry).outerjoin(Order, Order.id == CommissionEntry.order_id)
        .where(CommissionEntry.clerk_id == clerk.id,
               or_(and_(Order.paid_at >= day_start, Order.paid_at < day_end),
                   and_(CommissionEntry.order_id.is_(None), CommissionEntry.created_at >= day_start,
                        CommissionEntry.created_at < day_end))))

    return {
        "clerk": {"id": clerk.id, "display_name": clerk.display_name, "store_id": clerk.store_id},
        "period": period,
        "closed": period in closed,
        "today": {"sales": yuan(int(today_sales)), "commission": yuan(int(today_commission))},
        "month": {
            "orders": int(sales[0]), "sales": yuan(int(sales[1])),
            "net_sales": yuan(int(sales[1]) - int(sales[2])),
            "commission": yuan(month_commission), "settled": yuan(settled),
            "pending": yuan(month_commission - settled),
            "from": start.isoformat(), "to": end.isoformat(),
        },
        "rank": store_rank(session, clerk, period),
        "orders": _clerk_orders(session, clerk, period, closed, tz),
        "adjustments": [
            {"id": e.id, "amount": yuan(e.amount_fen), "reason": e.explanation, "order_id": e.order_id,
             "created_at": e.created_at.isoformat()}
            for e in session.scalars(select(CommissionEntry).where(
                CommissionEntry.clerk_id == clerk.id, CommissionEntry.period == period,
                CommissionEntry.kind == "adjusted").order_by(CommissionEntry.id))],
    }


def store_rank(session: Session, clerk: Staff, period: str) -> dict[str, Any] | None:
    """The clerk's place among their store's clerks by commission booked in the month."""
    if clerk.store_id is None:
        return None
    totals = dict(session.execute(
        select(Staff.id, func.coalesce(func.sum(CommissionEntry.amount_fen), 0))
        .outerjoin(CommissionEntry, and_(CommissionEntry.clerk_id == Staff.id, CommissionEntry.period == period))
        .where(Staff.store_id == clerk.store_id, Staff.role == Role.clerk, Staff.active.is_(True))
        .group_by(Staff.id)).all())
    mine = int(totals.get(clerk.id, 0))
    totals.setdefault(clerk.id, mine)
    return {"position": 1 + sum(1 for v in totals.values() if int(v) > mine), "of": len(totals)}


def _clerk_orders(session: Session, clerk: Staff, period: str, closed: set[str], tz: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Attribution, Order, Customer.name)
        .join(Order, Order.id == Attribution.order_id).join(Customer, Customer.id == Order.customer_id)
        .where(Attribution.clerk_id == clerk.id, Attribution.period == period)
        .order_by(Order.paid_at.desc(), Order.id.desc()).limit(ORDERS_SHOWN)).all()
    order_ids = [o.id for _, o, _ in rows]
    lines: dict[int, list[CommissionEntry]] = {}
    rules: dict[int, CommissionRule] = {}
    if order_ids:
        for e in session.scalars(select(CommissionEntry).where(
                CommissionEntry.clerk_id == clerk.id, CommissionEntry.order_id.in_(order_ids))
                .order_by(CommissionEntry.id)):
            lines.setdefault(e.order_id, []).append(e)
        rule_ids = {e.rule_id for es in lines.values() for e in es if e.rule_id}
        rules = {r.id: r for r in session.scalars(select(CommissionRule).where(CommissionRule.id.in_(rule_ids)))}
    split_with = {c for a, _, _ in rows for c in (a.detail or {}).get("with", [])}
    names = dict(session.execute(select(Staff.id, Staff.display_name).where(Staff.id.in_(split_with))).all()) \
        if split_with else {}
    out = []
    for a, o, customer_name in rows:
        entries = lines.get(o.id, [])
        out.append({
            "order_id": o.id, "external_id": o.external_id, "customer_id": o.customer_id,
            "customer_name": customer_name, "status": o.status.value,
            "paid_at": o.paid_at.isoformat() if o.paid_at else None,
            "amount": yuan(o.amount_fen), "refund_amount": yuan(o.refund_amount_fen),
            "rule": a.rule, "rule_label": t(f"commission.rule.{a.rule}"), "why": why_text(a, names, tz),
            "share_bp": a.share_bp, "sales": yuan(a.sales_fen),
            "commission": yuan(sum(e.amount_fen for e in entries)),
            "settled": bool(entries) and all(e.period in closed for e in entries) and o.status.value in TERMINAL,
            "lines": [_line_json(e, rules.get(e.rule_id)) for e in entries],
        })
    return out


def _line_json(e: CommissionEntry, rule: CommissionRule | None) -> dict[str, Any]:
    return {"id": e.id, "kind": e.kind, "kind_label": t(f"commission.entry.{e.kind}"),
            "amount": yuan(e.amount_fen), "period": e.period, "rule_id": e.rule_id,
            "rule_name": rule.name if rule else None, "rule_kind": rule.kind if rule else None,
            "explanation": explain(e.kind, rule, e.base_fen, e.explanation)}


def leaderboard(session: Session, staff: Staff, period: str) -> dict[str, Any]:
    """Stores and clerks ranked by commission booked in the month, with their sales."""
    store_filter = [Staff.store_id == staff.store_id] if staff.role != Role.hq else []
    commission = dict(session.execute(
        select(CommissionEntry.clerk_id, func.sum(CommissionEntry.amount_fen))
        .join(Staff, Staff.id == CommissionEntry.clerk_id)
        .where(CommissionEntry.period == period, *store_filter).group_by(CommissionEntry.clerk_id)).all())
    sales = attributed_sales(session, period, *store_filter)
    clerk_ids = set(commission) | set(sales)
    people = {s.id: s for s in session.scalars(select(Staff).where(
        (Staff.id.in_(clerk_ids)) | ((Staff.role == Role.clerk) & Staff.active.is_(True)
                                     & (Staff.store_id == staff.store_id if staff.role != Role.hq else True))))}
    stores = {s.id: s for s in session.scalars(select(Store))}
    clerks = []
    for sid, person in people.items():
        n, gross, refunded = sales.get(sid, (0, 0, 0))
        clerks.append({"clerk_id": sid, "display_name": person.display_name, "store_id": person.store_id,
                       "store_name": stores[person.store_id].name if person.store_id in stores else None,
                       "orders": n, "sales_fen": gross, "net_sales_fen": gross - refunded,
                       "commission_fen": int(commission.get(sid, 0))})
    clerks.sort(key=lambda c: (-c["commission_fen"], -c["net_sales_fen"], c["clerk_id"]))
    by_store: dict[int | None, dict[str, Any]] = {}
    for c in clerks:
        s = by_store.setdefault(c["store_id"], {"store_id": c["store_id"], "store_name": c["store_name"],
                                                "clerks": 0, "orders": 0, "sales_fen": 0, "net_sales_fen": 0,
                                                "commission_fen": 0})
        s["clerks"] += 1
        for k in ("orders", "sales_fen", "net_sales_fen", "commission_fen"):
            s[k] += c[k]
    store_rows = sorted(by_store.values(), key=lambda s: (-s["commission_fen"], -s["net_sales_fen"]))

    def money(row: dict[str, Any]) -> dict[str, Any]:
        return {**{k: v for k, v in row.items() if not k.endswith("_fen")},
                **{k[:-4]: yuan(v) for k, v in row.items() if k.endswith("_fen")}}

    for i, c in enumerate(clerks, 1):
        c["rank"] = i
    return {"period": period, "closed": period in closed_periods(session),
            "stores": [money(s) for s in store_rows], "clerks": [money(c) for c in clerks]}


STATEMENT_COLUMNS = ("entry_id", "period", "store", "clerk_id", "clerk", "kind", "order", "paid_at",
                     "order_status", "rule_id", "rule", "rule_kind", "base", "amount", "explanation",
                     "settled", "booked_at")


def statement(session: Session, staff: Staff, period: str, clerk_id: int | None = None) -> list[dict[str, Any]]:
    """Every ledger line booked in the month, with the rule that produced it (scoped by role)."""
    closed = closed_periods(session)
    stmt = (select(CommissionEntry, Staff, Store.name, Order, CommissionRule)
            .join(Staff, Staff.id == CommissionEntry.clerk_id)
            .outerjoin(Store, Store.id == Staff.store_id)
            .outerjoin(Order, Order.id == CommissionEntry.order_id)
            .outerjoin(CommissionRule, CommissionRule.id == CommissionEntry.rule_id)
            .where(CommissionEntry.period == period)
            .order_by(Store.name, Staff.id, CommissionEntry.id))
    if staff.role == Role.manager:
        stmt = stmt.where(Staff.store_id == staff.store_id)
    elif staff.role == Role.clerk:
        stmt = stmt.where(Staff.id == staff.id)
    if clerk_id is not None:
        stmt = stmt.where(Staff.id == clerk_id)
    out = []
    for e, clerk, store_name, order, rule in session.execute(stmt):
        out.append({
            "entry_id": e.id, "period": e.period, "store": store_name, "clerk_id": clerk.id,
            "clerk": clerk.display_name, "kind": e.kind, "order": order.external_id if order else None,
            "paid_at": order.paid_at.isoformat() if order and order.paid_at else None,
            "order_status": order.status.value if order else None,
            "rule_id": e.rule_id, "rule": rule.name if rule else None, "rule_kind": rule.kind if rule else None,
            "base": yuan(e.base_fen), "amount": yuan(e.amount_fen),
            "explanation": explain(e.kind, rule, e.base_fen, e.explanation),
            "settled": e.period in closed and (order is None or order.status.value in TERMINAL),
            "booked_at": e.created_at.isoformat(),
        })
    return out


def statement_total(lines: list[dict[str, Any]]) -> str:
    return yuan(sum(parse_yuan(line["amount"]) or 0 for line in lines))


def rule_json(r: CommissionRule) -> dict[str, Any]:
    return {
        "id": r.id, "name": r.name, "kind": r.kind, "kind_label": t(f"commission.kind.{r.kind}"),
        "category": r.category, "sku": r.sku, "rate_bp": r.rate_bp,
        "amount": yuan(r.amount_fen) if r.amount_fen is not None else None,
        "tiers": [{"from": yuan(tier["from_fen"]), "rate_bp": tier["rate_bp"]} for tier in (r.tiers or [])] or None,
        "priority": r.priority, "effective_from": r.effective_from.isoformat(),
        "effective_to": r.effective_to.isoformat() if r.effective_to else None,
        "created_by": r.created_by, "created_at": r.created_at.isoformat(),
    }


def form_choices(session: Session) -> dict[str, Any]:
    """What head office's commission forms offer, in the reader's words: rule kinds, the
    catalogue's categories and products, and the attribution rules with what each one means."""
    locale = negotiate_locale()
    categories = session.scalars(select(Product.category).distinct().order_by(Product.category))
    products = session.execute(select(Product.sku, Product.name).order_by(Product.name).limit(PRODUCTS_OFFERED))
    return {
        "kinds": [{"key": k, "label": t(f"commission.kind.{k}"), "hint": t(f"commission.kind_hint.{k}")} for k in KINDS],
        "categories": [{"key": c, "label": category_label(c, locale)} for c in categories if c],
        "products": [{"sku": sku, "name": name} for sku, name in products],
        "attribution_rules": [{"key": r, "label": t(f"commission.rule.{r}"), "hint": t(f"commission.rule_hint.{r}")}
                              for r in ATTRIBUTION_RULES],
    }
