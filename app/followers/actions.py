"""Keeping tags current, and the clerk's own (manual) tags.

Event subscribers run inside the transaction of the order or message that changed the
customer, so the tags land with it or not at all. ``retag_everyone`` is the background job run
after head office changes the thresholds (and by ``flask retag``).
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.config import brand_timezone as brand_tz
from app.db import get_db
from app.errors import Invalid, NotFound
from assistant.tags import Progress, retag_all, retag_customers
from models import Customer, CustomerTag, Staff, Tag, TagSource

MAX_TAG_NAME = 64




def retag(session: Session, customer_ids: Sequence[int]) -> None:
    """Recompute these customers' stage, derived columns and automatic tags now."""
    if customer_ids:
        retag_customers(session, customer_ids, tz=brand_tz())


def retag_on_order(session: Session, *, order_ids: Sequence[int] = (), customer_ids: Sequence[int] = (), **_kw) -> None:
    retag(session, customer_ids)


def retag_on_message(session: Session, *, customer_id: int, **_kw) -> None:
    retag(session, [customer_id])


def retag_on_follow(session: Session, *, customer_id: int, **_kw) -> None:
    retag(session, [customer_id])


def retag_everyone(progress: Progress | None = None) -> int:
    """Job: recompute every customer in one transaction; returns how many were tagged."""
    with get_db().transaction() as s:
        result = retag_all(s, tz=brand_tz(), progress=progress)
    return len(result.derived)


def add_manual_tag(session: Session, staff: Staff, customer: Customer, name: str) -> CustomerTag:
    """Put the clerk's own tag on a customer (idempotent); a rule never removes it."""
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        raise Invalid("tag name required", {"name": "required"})
    if len(name) > MAX_TAG_NAME:
        raise Invalid("tag name too long", {"name": f"at most {MAX_TAG_NAME} characters"})
    tag = session.scalar(select(Tag).where(Tag.name == name))
    if tag is None:
        tag = Tag(name=name, source=TagSource.manual, group="manual", label_zh=name, label_en=name)
        session.add(tag)
        session.flush()
    link = session.get(CustomerTag, (customer.id, tag.id))
    if link is None:
        link = CustomerTag(customer_id=customer.id, tag_id=tag.id, source=TagSource.manual,
                           reason=f"{staff.display_name} 手动添加", set_by=staff.id)
        session.add(link)
    elif link.source != TagSource.manual:
        # The clerk confirms a rule's tag: it becomes theirs and survives the rule changing its mind.
        link.source = TagSource.manual
        link.set_by = staff.id
        link.reason = f"{staff.display_name} 手动添加"
    session.flush()
    session.expire(customer, ["tags"])  # the answer lists the customer's tags: include this one
    return link


def remove_manual_tag(session: Session, customer: Customer, name: str) -> None:
    tag_id = session.scalar(select(Tag.id).where(Tag.name == name))
    link = session.get(CustomerTag, (customer.id, tag_id)) if tag_id is not None else None
    if link is None or link.source != TagSource.manual:
        raise NotFound("no such manual tag", {"name": "this customer has no manual tag of that name"})
    session.execute(delete(CustomerTag).where(CustomerTag.customer_id == customer.id, CustomerTag.tag_id == tag_id))
    # If a rule also sets this tag, it comes back now as the rule's (with its reason).
    retag(session, [customer.id])
    session.expire(customer, ["tags"])
