"""The one place that decides which customers a staff member may see.

A clerk sees their followers (an active binding to them); a store manager sees the customers
bound to any clerk of their store or whose home store it is; head office sees everyone. Every
query for customers goes through ``visible_customers`` or ``where_visible``; a customer outside
the scope answers 404, exactly like one that does not exist.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select, true
from sqlalchemy.orm import Session

from app.errors import NotFound
from models import Customer, FollowerBinding, Role, Staff


def where_visible(staff: Staff, customer_id=Customer.id) -> ColumnElement[bool]:
    """A WHERE clause limiting ``customer_id`` (a column) to what ``staff`` may see."""
    if staff.role == Role.hq:
        return true()
    active = FollowerBinding.ended_at.is_(None)
    if staff.role == Role.clerk:
        return exists().where(FollowerBinding.customer_id == customer_id,
                              FollowerBinding.clerk_id == staff.id, active)
    store_clerks = select(Staff.id).where(Staff.store_id == staff.store_id)
    bound = exists().where(FollowerBinding.customer_id == customer_id, active,
                           FollowerBinding.clerk_id.in_(store_clerks))
    if customer_id is Customer.id:
        return or_(bound, and_(Customer.home_store_id.is_not(None), Customer.home_store_id == staff.store_id))
    return bound


def visible_customers(staff: Staff) -> Select[tuple[Customer]]:
    return select(Customer).where(where_visible(staff))


def get_visible_customer(session: Session, staff: Staff, customer_id: int) -> Customer:
    """The customer, or NotFound when it does not exist *or* is outside the staff's scope."""
    customer = session.scalar(visible_customers(staff).where(Customer.id == customer_id))
    if customer is None:
        raise NotFound("customer not found", {"customer_id": "no such customer"})
    return customer
