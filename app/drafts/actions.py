"""Drafting actions: write a draft, record what the clerk did with it, edit templates and offers.

Replies and purchases are linked to drafts by hook subscribers (``note_sent``, ``note_reply``,
``note_purchases``) running inside the transaction of the message or order that caused them.
"""
from __future__ import annotations

import datetime as dt
import difflib
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import db, jobs
from app.drafts import settings as draft_settings
from app.errors import Conflict, Invalid, NotFound
from app.params import is_id
from app.scoping import get_visible_customer, where_visible
from assistant.drafting import (SCENARIOS, TONES, DraftRequest, DraftResult, build_contexts,
                                default_templates, normalise_scenario, other_customer_names, parse_offers,
                                task_brief, validate_templates, write_draft)
from connectors.registry import channel_kinds, is_channel, preferred_channel
from models import (CareTask, CareTaskTarget, Conversation, Customer, Direction, FollowerBinding, Message,
                    Order, Role, Setting, Staff, utcnow)
from models.commerce import PAID_STATUSES
from models.drafting import SENT_OUTCOMES, Draft, DraftBatch, DraftOutcome, DraftSource

# A message the clerk sends this soon after a draft is taken as that draft being used…
DRAFT_USE_WINDOW = dt.timedelta(hours=2)
# …if it is at least this close to the draft's text (below it the clerk wrote their own).
EDITED_MIN_SIMILARITY = 0.4
# A reply or a purchase this soon after the send counts for the draft.
RESULT_WINDOW = dt.timedelta(days=7)
BATCH_LIMIT = 5000


def _staff_clerk_id(staff: Staff) -> int | None:
    return staff.id if staff.role == Role.clerk else None


def parse_draft_body(body: Any) -> dict[str, Any]:
    """Validate ``POST /api/v1/drafts``: customer_id, scenario or task_id, channel, tone, occasion."""
    if not isinstance(body, dict):
        raise Invalid("invalid draft request", {"body": "a JSON object"})
    fields: dict[str, str] = {}
    customer_id = body.get("customer_id")
    if not is_id(customer_id):
        fields["customer_id"] = "required, a customer id"
    task_id = body.get("task_id")
    if task_id is not None and not is_id(task_id):
        fields["task_id"] = "a care task id"
    scenario = normalise_scenario(body.get("scenario")) if body.get("scenario") else None
    if body.get("scenario") and scenario is None:
        fields["scenario"] = f"one of {', '.join(SCENARIOS)}"
    elif scenario is None and task_id is None and "task_id" not in fields:
        fields["scenario"] = "scenario or task_id is required"
    elif scenario == "task" and task_id is None:
        fields["task_id"] = "required for the task scenario"
    channel = body.get("channel")
    if channel is not None and not is_channel(channel):
        fields["channel"] = f"one of {', '.join(channel_kinds())}"
    tone = body.get("tone") or "friendly"
    if tone not in TONES:
        fields["tone"] = f"one of {', '.join(TONES)}"
    occasion = body.get("occasion")
    if occasion is not None and (not isinstance(occasion, str) or not 1 <= len(occasion.strip()) <= 12):
        fields["occasion"] = "a festival name, at most 12 characters"
    if fields:
        raise Invalid("invalid draft request", fields)
    return {"customer_id": customer_id, "task_id": task_id, "scenario": "task" if task_id else scenario,
            "channel": channel, "tone": tone, "occasion": occasion.strip() if occasion else None}


def _task_for(session: Session, task_id: int, customer_id: int) -> CareTask:
    task = session.get(CareTask, task_id)
    targeted = task is not None and session.scalar(select(CareTaskTarget.id).where(
        CareTaskTarget.task_id == task_id, CareTaskTarget.customer_id == customer_id))
    if not targeted:
        raise NotFound("care task not found", {"task_id": "no such task for this customer"})
    return task


def _default_channel(session: Session, customer_id: int, clerk_id: int | None) -> str:
    query = select(FollowerBinding.channel).where(FollowerBinding.customer_id == customer_id,
                                                  FollowerBinding.ended_at.is_(None))
    if clerk_id is not None:
        query = query.where(FollowerBinding.clerk_id == clerk_id)
    return session.scalar(query.order_by(FollowerBinding.is_owner.desc()).limit(1)) or preferred_channel()


def draft_for_customer(staff: Staff, body: Any) -> tuple[Draft, DraftResult]:
    """Write a draft for one customer the staff member may see, and record it."""
    wanted = parse_draft_body(body)
    s = db.session()
    customer = get_visible_customer(s, staff, wanted["customer_id"])
    task = _task_for(s, wanted["task_id"], customer.id) if wanted["task_id"] else None
    clerk_id = _staff_clerk_id(staff)
    channel = wanted["channel"] or _default_channel(s, customer.id, clerk_id)
    request = DraftRequest(customer.id, wanted["scenario"], channel, clerk_id=clerk_id,
                           task=task_brief(task) if task else None, tone=wanted["tone"], occasion=wanted["occasion"])
    settings = draft_settings.drafting_settings(s)
    now = utcnow()
    contexts = build_contexts(s, [request], settings, draft_settings.recommender(s, now=now), now,
                              describe_reason=draft_settings.describe_ranker_reason)
    draft_settings.with_held_coupons(s, contexts, now)
    ctx = contexts[customer.id]
    book = draft_settings.template_book(s)
    s.rollback()  # end the read transaction: the model call below may take a few seconds
    result = write_draft(ctx, book, model=draft_settings.model_drafter(), banned_words=settings.banned_words,
                         names_in_text=lambda text: other_customer_names(s, text, customer.id))
    with db.transaction() as w:
        draft = Draft(customer_id=customer.id, clerk_id=ctx.clerk_id, requested_by=staff.id,
                      scenario=request.scenario, task_id=task.id if task else None, channel=channel,
                      source=DraftSource(result.source), template_variant=result.variant, text=result.text,
                      products=[p.sku for p in result.products], reason=result.reason[:255],
                      fallback_reason=result.fallback_reason, created_at=now)
        w.add(draft)
    return draft, result


# Outcomes ------------------------------------------------------------------------------------

def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def record_outcome(staff: Staff, draft_id: int, body: Any) -> Draft:
    """The clerk sent the draft as is, edited it, or discarded it (``sent`` + the text: decided here)."""
    if not isinstance(body, dict):
        raise Invalid("invalid outcome", {"body": "a JSON object"})
    outcome = body.get("outcome")
    allowed = [o.value for o in DraftOutcome] + ["sent"]
    fields: dict[str, str] = {}
    if outcome not in allowed:
        fields["outcome"] = f"one of {', '.join(allowed)}"
    message_id = body.get("message_id")
    if message_id is not None and not is_id(message_id):
        fields["message_id"] = "a message id"
    sent_text = body.get("text")
    if sent_text is not None and not isinstance(sent_text, str):
        fields["text"] = "the text that was sent"
    if fields:
        raise Invalid("invalid outcome", fields)
    with db.transaction() as s:
        draft = s.get(Draft, draft_id)
        # What became of a draft is for the one who sends it: the clerk it was written for, or
        # who asked for it. A manager or head office seeing the customer does not decide it.
        if draft is None or staff.id not in (draft.clerk_id, draft.requested_by):
            raise NotFound("draft not found", {"draft_id": "no such draft"})
        try:
            get_visible_customer(s, staff, draft.customer_id)
        except NotFound:
            raise NotFound("draft not found", {"draft_id": "no such draft"}) from None
        message = None
        if message_id is not None:
            message = s.scalar(select(Message).join(Conversation, Conversation.id == Message.conversation_id)
                               .where(Message.id == message_id, Conversation.customer_id == draft.customer_id,
                                      Message.direction == Direction.outbound))
            if message is None:
                raise Invalid("invalid outcome", {"message_id": "not a message sent to this draft's customer"})
            sent_text = sent_text if sent_text is not None else message.body
        if outcome == "sent":
            if sent_text is None:
                raise Invalid("invalid outcome", {"text": "required with outcome \"sent\" (or give message_id)"})
            outcome = DraftOutcome.sent_as_is.value if _same_text(sent_text, draft.text) else DraftOutcome.edited.value
        if outcome == DraftOutcome.discarded.value and message is not None:
            raise Invalid("invalid outcome", {"message_id": "a discarded draft has no message"})
        new = DraftOutcome(outcome)
        if draft.outcome is not None and draft.outcome != new:
            raise Conflict("outcome already recorded", {"outcome": f"already {draft.outcome.value}"})
        if draft.outcome is None:
            draft.outcome = new
            draft.outcome_at = utcnow()
        if message is not None:
            draft.message_id = message.id
        return draft


def note_sent(session: Session, *, message_id: int, customer_id: int, source: str = "clerk",
              **_: Any) -> None:
    """A clerk sent a message: if it comes from their fresh draft, record sent-as-is or edited."""
    if source != "clerk":  # a campaign or automation in the clerk's name is not their draft's fate
        return
    message = session.get(Message, message_id)
    if message is None or message.sender_id is None or message.type != "text":
        return
    now = utcnow()
    draft = session.scalar(select(Draft).where(
        Draft.customer_id == customer_id, Draft.outcome.is_(None), Draft.created_at >= now - DRAFT_USE_WINDOW,
        (Draft.clerk_id == message.sender_id) | (Draft.requested_by == message.sender_id))
        .order_by(Draft.created_at.desc(), Draft.id.desc()).limit(1))
    if draft is None:
        return
    if _same_text(message.body, draft.text):
        draft.outcome = DraftOutcome.sent_as_is
    elif _similarity(message.body, draft.text) >= EDITED_MIN_SIMILARITY:
        draft.outcome = DraftOutcome.edited
    else:
        return
    draft.outcome_at = now
    draft.message_id = message.id


def note_reply(session: Session, *, message_id: int, customer_id: int, **_: Any) -> None:
    """The customer wrote back: drafts sent to them in the last week got a reply."""
    now = utcnow()
    session.execute(update(Draft).where(
        Draft.customer_id == customer_id, Draft.outcome.in_(SENT_OUTCOMES), Draft.replied_at.is_(None),
        Draft.outcome_at >= now - RESULT_WINDOW).values(replied_at=now).execution_options(synchronize_session=False))


def note_purchases(session: Session, *, order_ids: list[int], customer_ids: list[int] | None = None, **_: Any) -> None:
    """Paid orders: each sent draft gets the first order paid within a week after it was sent."""
    if not order_ids:
        return
    paid = session.execute(select(Order.id, Order.customer_id, Order.paid_at).where(
        Order.id.in_(list(order_ids)), Order.status.in_(PAID_STATUSES), Order.paid_at.is_not(None))
        .order_by(Order.paid_at)).all()
    if not paid:
        return
    by_customer: dict[int, list[Any]] = {}
    for row in paid:
        by_customer.setdefault(row.customer_id, []).append(row)
    earliest = min(row.paid_at for row in paid)
    drafts = session.execute(select(Draft.id, Draft.customer_id, Draft.outcome_at).where(
        Draft.customer_id.in_(list(by_customer)), Draft.outcome.in_(SENT_OUTCOMES),
        Draft.bought_order_id.is_(None), Draft.outcome_at >= earliest - RESULT_WINDOW)).all()
    changes = []
    for d in drafts:
        order = next((o for o in by_customer[d.customer_id]
                      if d.outcome_at <= o.paid_at <= d.outcome_at + RESULT_WINDOW), None)
        if order is not None:
            changes.append({"id": d.id, "bought_order_id": order.id, "bought_at": order.paid_at})
    if changes:
        session.execute(update(Draft), changes)


# Head office's documents ----------------------------------------------------------------------

def _save_setting(s: Session, key: str, value: dict[str, Any], staff: Staff) -> Setting:
    row = s.get(Setting, key)
    if row is None:
        row = Setting(key=key, value=value, updated_by=staff.id)
        s.add(row)
    else:
        row.value = value
        row.updated_by = staff.id
        row.updated_at = utcnow()
    s.flush()
    return row


def save_templates(staff: Staff, body: Any) -> dict[str, Any]:
    """Replace the templates head office edits; scenarios equal to the defaults are not stored."""
    scenarios = body.get("scenarios") if isinstance(body, dict) else None
    errors = validate_templates(scenarios, draft_settings.policy(db.session())["banned_words"])
    if errors:
        raise Invalid("invalid templates", errors)
    defaults = default_templates()
    overrides = {}
    for key, scenario in scenarios.items():
        variants = [{"id": v["id"], "text": v["text"]} for v in scenario["variants"]]
        if variants != defaults[key]["variants"]:
            overrides[key] = {"label": defaults[key]["label"], "variants": variants}
    with db.transaction() as s:
        _save_setting(s, draft_settings.TEMPLATES_KEY, {"scenarios": overrides}, staff)
    return overrides


def save_offers(staff: Staff, body: Any) -> list[Any]:
    offers, errors = parse_offers(body.get("offers") if isinstance(body, dict) else None)
    if errors:
        raise Invalid("invalid offers", errors)
    with db.transaction() as s:
        _save_setting(s, draft_settings.OFFERS_KEY, {"offers": [o.to_json() for o in offers]}, staff)
    return offers


def save_policy(staff: Staff, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Invalid("invalid policy", {"body": "a JSON object"})
    fields: dict[str, str] = {}
    words = body.get("banned_words")
    if not isinstance(words, list) or not all(isinstance(w, str) and 0 < len(w.strip()) <= 20 for w in words) or len(words) > 500:
        fields["banned_words"] = "a list of up to 500 words, each 1–20 characters"
    signature = body.get("sms_signature")
    if signature is not None and (not isinstance(signature, str) or not 2 <= len(signature.strip("【】 ")) <= 12):
        fields["sms_signature"] = "2–12 characters (the 【】 are added)"
    segments = body.get("sms_segments", 2)
    if not isinstance(segments, int) or isinstance(segments, bool) or not 1 <= segments <= 5:
        fields["sms_segments"] = "an integer from 1 to 5"
    if fields:
        raise Invalid("invalid policy", fields)
    value = {"banned_words": sorted({w.strip() for w in words}), "sms_segments": segments}
    if signature:
        value["sms_signature"] = signature.strip("【】 ")
    with db.transaction() as s:
        _save_setting(s, draft_settings.POLICY_KEY, value, staff)
    return value


# Batches -----------------------------------------------------------------------------------------

def start_batch(staff: Staff, body: Any) -> DraftBatch:
    """Queue drafts for a care task's targets (or listed customers) within the staff's scope."""
    if not isinstance(body, dict):
        raise Invalid("invalid batch", {"body": "a JSON object"})
    fields: dict[str, str] = {}
    task_id = body.get("task_id")
    scenario = normalise_scenario(body.get("scenario")) if body.get("scenario") else None
    ids = body.get("customer_ids")
    channel = body.get("channel")
    if task_id is not None and not is_id(task_id):
        fields["task_id"] = "a care task id"
    if task_id is None:
        if scenario is None or scenario == "task":
            fields["scenario"] = f"one of {', '.join(s for s in SCENARIOS if s != 'task')} (or give task_id)"
        if not isinstance(ids, list) or not ids or not all(is_id(i) for i in ids):
            fields["customer_ids"] = "a non-empty list of customer ids (or give task_id)"
        elif len(ids) > BATCH_LIMIT:
            fields["customer_ids"] = f"at most {BATCH_LIMIT}"
    if channel is not None and not is_channel(channel):
        fields["channel"] = f"one of {', '.join(channel_kinds())}"
    if fields:
        raise Invalid("invalid batch", fields)
    with db.transaction() as s:
        if task_id is not None:
            if s.get(CareTask, task_id) is None:
                raise NotFound("care task not found", {"task_id": "no such task"})
            query = select(CareTaskTarget.customer_id).where(
                CareTaskTarget.task_id == task_id, where_visible(staff, CareTaskTarget.customer_id))
        else:
            query = select(Customer.id).where(Customer.id.in_(ids), where_visible(staff))
        visible = sorted(set(s.scalars(query.limit(BATCH_LIMIT))))
        if not visible:
            raise Invalid("invalid batch", {"customer_ids" if task_id is None else "task_id": "no customers you may draft for"})
        batch = DraftBatch(requested_by=staff.id, scenario="task" if task_id else scenario, task_id=task_id,
                           channel=channel, customer_ids=visible, total=len(visible), done=0, status="queued")
        s.add(batch)
        s.flush()
        from app.drafts.jobs import run_draft_batch

        jobs.enqueue_after_commit(s, run_draft_batch, batch.id)
    return batch


def get_batch(staff: Staff, batch_id: int) -> DraftBatch:
    batch = db.session().get(DraftBatch, batch_id)
    if batch is None or (staff.role != Role.hq and batch.requested_by != staff.id):
        raise NotFound("batch not found", {"batch_id": "no such batch"})
    return batch


def drafts_of_batch(batch_id: int, limit: int = 100) -> list[Draft]:
    return list(db.session().scalars(select(Draft).where(Draft.batch_id == batch_id)
                                     .order_by(Draft.id).limit(limit)))

