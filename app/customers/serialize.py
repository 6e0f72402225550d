"""JSON shapes of customers and what hangs off them (one place, used by every view)."""
from __future__ import annotations

from typing import Any

from app.i18n import negotiate_locale, t
from models.money import yuan
from models import Customer, CustomerTag, FollowerBinding, Order, Tag




def customer_summary(c: Customer) -> dict[str, Any]:
    return {
        "id": c.id,
        "external_id": c.external_id,
        "name": c.name,
        "phone_tail": c.phone[-4:] if c.phone else None,
        "stage": c.stage.value if c.stage else None,
        "stage_label": t(f"stage.{c.stage.value}") if c.stage else None,
        "paid_orders": c.paid_orders,
        "total_spent": yuan(c.total_spent_fen),
        "last_paid_at": c.last_paid_at.isoformat() if c.last_paid_at else None,
    }


def tag_label(tag: Tag) -> str:
    """A tag's name for people in the request's language."""
    return (tag.label_en if negotiate_locale() == "en" else tag.label_zh) or tag.name


def tag_json(ct: CustomerTag) -> dict[str, Any]:
    return {"name": ct.tag.name, "label": tag_label(ct.tag), "source": ct.source.value,
            "group": ct.tag.group, "reason": ct.reason}


def binding_json(b: FollowerBinding) -> dict[str, Any]:
    return {"clerk_id": b.clerk_id, "channel": b.channel, "is_owner": b.is_owner,
            "since": b.since.isoformat(), "ended_at": b.ended_at.isoformat() if b.ended_at else None}


def order_json(o: Order) -> dict[str, Any]:
    return {
        "id": o.id, "external_id": o.external_id, "status": o.status.value,
        "amount": yuan(o.amount_fen), "refund_amount": yuan(o.refund_amount_fen),
        "created_at": o.created_at.isoformat(), "paid_at": o.paid_at.isoformat() if o.paid_at else None,
        "items": [{"sku": i.product.sku, "name": i.product.name, "quantity": i.quantity,
                   "price": yuan(i.price_fen)} for i in o.items],
    }


def customer_profile(c: Customer, orders: list[Order]) -> dict[str, Any]:
    return {
        **customer_summary(c),
        "phone": c.phone, "email": c.email, "gender": c.gender,
        "birthday": c.birthday.isoformat() if c.birthday else None,
        "address": c.address, "city": c.city, "province": c.province,
        "member_level": c.member_level,
        "tags": tags_json(c),
        "bindings": [binding_json(b) for b in c.bindings],
        "orders": [order_json(o) for o in orders],
    }


def _tag_order(ct: CustomerTag) -> tuple:
    # Stage first, then the rule tags a clerk acts on, manual tags last.
    order = {"stage": 0, "unpaid": 1, "replenish": 2, "birthday": 3, "rfm": 4}
    return (ct.source.value == "manual", order.get(ct.tag.group or "", 9), ct.tag.name)


def tags_json(c: Customer) -> list[dict[str, Any]]:
    return [tag_json(ct) for ct in sorted(c.tags, key=_tag_order)]


# How useful a tag is to a clerk scanning the follower book, best first: what to act on now, then
# the clerk's own notes, then what describes the customer. The stage shows beside the name instead.
ROW_TAG_PRIORITY = ("unpaid", "replenish", "birthday", "manual", "value", "affinity", "rfm",
                    "engagement", "follower", "address", "price_band", "region")
ROW_TAGS = 2


def _row_rank(ct: CustomerTag) -> tuple:
    kind = "manual" if ct.source.value == "manual" else ct.tag.group
    rank = ROW_TAG_PRIORITY.index(kind) if kind in ROW_TAG_PRIORITY else len(ROW_TAG_PRIORITY)
    return rank, -ct.created_at.timestamp() if ct.created_at else 0, ct.tag.name


def row_tags(c: Customer) -> list[dict[str, Any]]:
    """The two tags a follower row shows: the most useful ones, and always the clerk's own newest
    tag when there is one (a clerk's note never hides behind two rule tags)."""
    ranked = sorted((ct for ct in c.tags if ct.tag.group != "stage"), key=_row_rank)
    shown = ranked[:ROW_TAGS]
    manual = [ct for ct in ranked if ct.source.value == "manual"]
    if manual and not any(ct.source.value == "manual" for ct in shown):
        shown = shown[:ROW_TAGS - 1] + manual[:1]
    return [tag_json(ct) for ct in shown]


def follower_json(c: Customer) -> dict[str, Any]:
    """One row of the follower book: the summary, the tags with their reasons, the two to show."""
    return {**customer_summary(c), "tags": tags_json(c), "row_tags": row_tags(c)}
