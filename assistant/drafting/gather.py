"""``build_contexts``: the facts of many customers' drafts, gathered with a fixed number of queries."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant import guardrails
from assistant.drafting.context import DraftContext, DraftingSettings, DraftRequest, PurchaseLine
from assistant.drafting.scenarios import SERVICE_SCENARIOS, festival_for, salutation
from assistant.reasons import PurchaseFacts, current_reasons
from assistant.recommend import CatalogueItem, CustomerHistory, Purchase, Recommendation, Recommender
from models import (Customer, CustomerScore, CustomerTag, Draft, FollowerBinding, Order, OrderItem, Staff, Store,
                    Tag)
from models.commerce import PAID_STATUSES
from models.drafting import DraftSource

MAX_PRODUCTS = 3
# How far back the rotation remembers which variant a customer got (a year of drafts is plenty).
ROTATION_MEMORY = dt.timedelta(days=365)


@dataclass
class OrderView:
    id: int
    status: str
    amount_fen: int
    created_at: dt.datetime
    paid_at: dt.datetime | None
    items: list[tuple[CatalogueItem, int]]


def build_contexts(session: Session, requests: Sequence[DraftRequest], settings: DraftingSettings,
                   recommender: Recommender, now: dt.datetime,
                   describe_reason: Callable[[dict[str, Any]], str] | None = None) -> dict[int, DraftContext]:
    """Contexts for many customers with a fixed number of queries (not one per customer).

    ``describe_reason`` turns one of the ranker's reasons (``{"code", "params"}``) into words;
    without it the ranker's reasons are left out. Before it speaks, each reason takes its purchase
    facts from the customer's own columns (``assistant.reasons``), as the Today card does.
    """
    ids = [r.customer_id for r in requests]
    # Plain rows, not ORM objects: building thousands of instances would cost more than drafting.
    customers = {row.id: row for row in session.execute(
        select(Customer.id, Customer.name, Customer.gender, Customer.phone, Customer.stage, Customer.paid_orders,
               Customer.total_spent_fen, Customer.last_paid_at).where(Customer.id.in_(ids)))}
    tags = _tags(session, ids)
    orders = _orders(session, ids, recommender.catalogue)
    owners = {row.customer_id: row for row in session.execute(
        select(FollowerBinding.customer_id, Staff.id.label("clerk_id"), Staff.display_name, Store.name.label("store"))
        .join(Staff, Staff.id == FollowerBinding.clerk_id).outerjoin(Store, Store.id == Staff.store_id)
        .where(FollowerBinding.customer_id.in_(ids), FollowerBinding.current_owner()))}
    asked_clerks = {r.clerk_id for r in requests if r.clerk_id}
    clerks = {row.id: row for row in session.execute(
        select(Staff.id, Staff.display_name, Store.name.label("store"))
        .outerjoin(Store, Store.id == Staff.store_id).where(Staff.id.in_(asked_clerks)))} if asked_clerks else {}
    history = _variant_history(session, ids, now)
    scores = _scores(session, ids) if describe_reason is not None else {}

    zone = ZoneInfo(settings.timezone)
    local_today = now.astimezone(zone).date()
    festival = festival_for(local_today)
    by_sku = {item.sku: item for item in recommender.catalogue.values()}
    catalogue_names = tuple(sorted({item.name for item in recommender.catalogue.values()}))
    contexts: dict[int, DraftContext] = {}
    for req in requests:
        customer = customers.get(req.customer_id)
        if customer is None:
            continue
        mine = orders.get(customer.id, [])
        paid = [o for o in mine if o.status in PAID_STATUSES and o.paid_at is not None]
        unpaid = next((o for o in mine if o.status == "created"), None)
        clerk = clerks.get(req.clerk_id) if req.clerk_id else None
        owner = owners.get(customer.id)
        offers = [o for o in settings.offers if o.applies(req.scenario, local_today)]
        if req.task is not None and req.task.scenario:
            offers = [o for o in settings.offers if o.applies(req.task.scenario, local_today)] or offers
        products, reasons, due = _products_for(req, paid, unpaid, recommender, by_sku)
        facts = PurchaseFacts.of(customer.paid_orders, customer.last_paid_at, now, zone, customer.total_spent_fen)
        stored, scored_at = scores.get(customer.id, ([], None))
        ranker = [describe_reason(r) for r in current_reasons(stored, facts, scored_at)]
        contexts[customer.id] = DraftContext(
            request=req, clerk_id=req.clerk_id or (owner.clerk_id if owner else None),
            customer_name=customer.name, salutation=salutation(customer.name, customer.gender),
            stage=customer.stage.value if customer.stage else None, tags=tags.get(customer.id, []),
            purchases=_purchase_lines(paid[:5]),
            unpaid_fen=unpaid.amount_fen if unpaid else None,
            unpaid_items=_items_phrase(unpaid) if unpaid else None,
            unpaid_created_at=unpaid.created_at if unpaid else None,
            clerk_name=clerk.display_name if clerk else owner.display_name if owner else settings.brand,
            store_name=(clerk.store if clerk else owner.store if owner else None) or settings.brand,
            brand=settings.brand, offers=offers,
            rules=guardrails.channel_rules(req.channel, marketing=req.scenario not in SERVICE_SCENARIOS,
                                           signature=settings.sms_signature,
                                           sms_segments_allowed=settings.sms_segments),
            products=products, product_reasons=reasons,
            festival=req.occasion or festival, own_phone=customer.phone, now=now,
            variant_history=history.get(customer.id, []), ranker_reasons=[r for r in ranker if r],
            due=due, timezone=settings.timezone, catalogue_names=catalogue_names)
    return contexts


def _tags(session: Session, ids: list[int]) -> dict[int, list[tuple[str, str | None]]]:
    tags: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
    for cid, label, name, reason in session.execute(
            select(CustomerTag.customer_id, Tag.label_zh, Tag.name, CustomerTag.reason)
            .join(Tag, Tag.id == CustomerTag.tag_id).where(CustomerTag.customer_id.in_(ids))):
        tags[cid].append((label or name, reason))
    return tags


def _orders(session: Session, ids: list[int], catalogue: dict[int, CatalogueItem]) -> dict[int, list[OrderView]]:
    """Each customer's orders, newest first, with their catalogue items."""
    orders: dict[int, list[OrderView]] = defaultdict(list)
    current: OrderView | None = None
    for row in session.execute(
            select(Order.id, Order.customer_id, Order.status, Order.amount_fen, Order.created_at, Order.paid_at,
                   OrderItem.product_id, OrderItem.quantity)
            .outerjoin(OrderItem, OrderItem.order_id == Order.id).where(Order.customer_id.in_(ids))
            .order_by(Order.customer_id, Order.created_at.desc(), Order.id.desc(), OrderItem.id)):
        if current is None or current.id != row.id:
            current = OrderView(row.id, row.status.value, row.amount_fen, row.created_at, row.paid_at, [])
            orders[row.customer_id].append(current)
        item = catalogue.get(row.product_id) if row.product_id is not None else None
        if item is not None:
            current.items.append((item, row.quantity))
    return orders


def _variant_history(session: Session, ids: list[int], now: dt.datetime) -> dict[int, list[str]]:
    history: dict[int, list[str]] = defaultdict(list)
    for cid, variant in session.execute(
            select(Draft.customer_id, Draft.template_variant)
            .where(Draft.customer_id.in_(ids), Draft.source == DraftSource.template,
                   Draft.template_variant.is_not(None), Draft.created_at >= now - ROTATION_MEMORY)
            .order_by(Draft.created_at.desc(), Draft.id.desc())):
        history[cid].append(variant)
    return history


def _scores(session: Session, ids: list[int]) -> dict[int, tuple[list[dict[str, Any]], dt.datetime | None]]:
    """The ranker's reasons (the rule fallback's note left out) and when they were scored."""
    return {cid: ([r for r in reasons or [] if isinstance(r, dict) and r.get("code") not in (None, "fallback")],
                  scored_at)
            for cid, reasons, scored_at in session.execute(
                select(CustomerScore.customer_id, CustomerScore.reasons, CustomerScore.scored_at)
                .where(CustomerScore.customer_id.in_(ids)))}


def _purchase_lines(paid: list[OrderView]) -> list[PurchaseLine]:
    lines = []
    for order in paid:
        for p, quantity in order.items:
            due = (order.paid_at + dt.timedelta(days=p.usage_days * max(quantity, 1))) if p.usage_days else None
            lines.append(PurchaseLine(p.name, p.sku, quantity, order.paid_at, p.usage_days, due))
    return lines


def _items_phrase(order: OrderView) -> str:
    if not order.items:
        return "宝贝"
    count = sum(q for _, q in order.items)
    return order.items[0][0].name if count == 1 else f"{order.items[0][0].name}等{count}件"


def _products_for(req: DraftRequest, paid: list[OrderView], unpaid: OrderView | None, recommender: Recommender,
                  by_sku: dict[str, CatalogueItem]) -> tuple[list[CatalogueItem], dict[str, str], PurchaseLine | None]:
    """The products to feature, why each, and for 补货 the purchase that is due (featured first)."""
    if req.scenario == "unpaid" and unpaid is not None and not (req.task and req.task.product_skus):
        items = [p for p, _ in unpaid.items][:MAX_PRODUCTS]
        return items, {p.sku: "未付款订单里的商品" for p in items}, None
    history = CustomerHistory(req.customer_id, [Purchase(p.id, q, o.paid_at) for o in paid for p, q in o.items])
    scenario = req.task.scenario if req.task is not None and req.task.scenario else req.scenario
    if req.task is not None and req.task.product_skus:
        chosen = [by_sku[s] for s in req.task.product_skus if s in by_sku and by_sku[s].in_stock][:MAX_PRODUCTS]
        products, reasons = chosen, {p.sku: "总部为本次任务选定" for p in chosen}
        due_recs = recommender.due(history) if scenario == "replenish" else []
    else:
        recs = recommender.for_customer(history, scenario, limit=MAX_PRODUCTS)
        products, reasons = [r.product for r in recs], {r.product.sku: r.reason for r in recs}
        due_recs = [r for r in recs if r.kind == "replenish"] if scenario == "replenish" else []
    due = next((r for r in due_recs if r.product in products), None)
    if due is None:
        return products, reasons, None
    products = [due.product] + [p for p in products if p != due.product]
    return products, reasons, _due_line(due)


def _due_line(rec: Recommendation) -> PurchaseLine:
    item, purchase = rec.product, rec.purchase
    return PurchaseLine(item.name, item.sku, purchase.quantity, purchase.paid_at, item.usage_days, rec.due_at)
