"""Binding a customer to a clerk as a follower (粉丝好友): the one place a binding begins."""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import hooks
from app.messaging.actions import owner_clerk_id
from models import FollowerBinding, utcnow


def bind(s: Session, customer_id: int, clerk_id: int, channel: str, *, may_own: bool = True) -> FollowerBinding:
    """Bind (or re-bind) a follower to a clerk; the first active binding becomes the owner
    (unless ``may_own`` is False: a follower the clerk serves without owning them)."""
    binding = s.scalar(select(FollowerBinding).where(FollowerBinding.customer_id == customer_id,
                                                     FollowerBinding.clerk_id == clerk_id,
                                                     FollowerBinding.channel == channel))
    has_owner = not may_own or owner_clerk_id(s, customer_id) is not None
    if binding is None:
        binding = FollowerBinding(customer_id=customer_id, clerk_id=clerk_id, channel=channel,
                                  is_owner=not has_owner, since=utcnow())
        s.add(binding)
    elif binding.ended_at is not None:
        binding.ended_at, binding.end_reason, binding.since = None, None, utcnow()
        binding.is_owner = not has_owner
    else:
        return binding
    s.flush()
    hooks.fire(s, hooks.FOLLOWER_CHANGED, customer_id=customer_id, clerk_id=clerk_id)
    return binding


def release(s: Session, customer_id: int, clerk_id: int, reason: str) -> bool:
    """End the clerk's bindings to the customer if the clerk owns them (a thread handed over
    takes the customer with it); return whether they did. History stays: the rows are ended."""
    owns = s.scalar(select(FollowerBinding.id).where(FollowerBinding.customer_id == customer_id,
                                                     FollowerBinding.clerk_id == clerk_id,
                                                     FollowerBinding.current_owner()))
    if owns is None:
        return False
    s.execute(update(FollowerBinding).where(FollowerBinding.customer_id == customer_id,
                                            FollowerBinding.clerk_id == clerk_id, FollowerBinding.ended_at.is_(None))
              .values(ended_at=utcnow(), end_reason=reason[:32], is_owner=False))
    s.flush()
    hooks.fire(s, hooks.FOLLOWER_CHANGED, customer_id=customer_id, clerk_id=clerk_id)
    return True
