"""Background drafting for many customers (a care task's targets), with progress on the batch row.

Each chunk is read and drafted outside any write transaction, then its drafts and the progress
land in one short transaction, so the console's own writes never wait behind a whole batch.
Batches use the templates: predictable, a few milliseconds each; a clerk who wants the model's
version asks for it in the chat.
"""
from __future__ import annotations

import logging

from sqlalchemy import insert, select

from app import db
from app.drafts import settings as draft_settings
from assistant.drafting import DraftRequest, build_contexts, task_brief, template_draft
from connectors.registry import preferred_channel
from models import CareTask, FollowerBinding, utcnow
from models.drafting import Draft, DraftBatch, DraftSource

log = logging.getLogger("daogou.drafts")
CHUNK = 200


def run_draft_batch(batch_id: int) -> None:
    """Draft for every customer of the batch, CHUNK at a time, updating ``done`` as it goes."""
    with db.transaction() as s:
        batch = s.get(DraftBatch, batch_id)
        if batch is None or batch.status not in ("queued", "running"):
            return
        batch.status = "running"
        customer_ids = list(batch.customer_ids)[batch.done:]
        scenario, channel, task_id = batch.scenario, batch.channel, batch.task_id
    try:
        for chunk in db.chunks(customer_ids, CHUNK):
            _draft_chunk(batch_id, chunk, scenario, channel, task_id)
    except Exception as exc:  # record the failure on the batch so head office sees it, then re-raise
        with db.transaction() as s:
            batch = s.get(DraftBatch, batch_id)
            batch.status, batch.error, batch.finished_at = "failed", str(exc)[:255], utcnow()
        raise
    with db.transaction() as s:
        batch = s.get(DraftBatch, batch_id)
        batch.status, batch.finished_at = "done", utcnow()


def _draft_chunk(batch_id: int, customer_ids: list[int], scenario: str, channel: str | None,
                 task_id: int | None) -> None:
    database = db.get_db()
    with database.Session() as s:
        task = task_brief(s.get(CareTask, task_id)) if task_id else None
        channels = dict(s.execute(select(FollowerBinding.customer_id, FollowerBinding.channel).where(
            FollowerBinding.customer_id.in_(customer_ids), FollowerBinding.current_owner())).all())
        fallback = preferred_channel()
        requests = [DraftRequest(cid, scenario, channel or channels.get(cid, fallback), task=task) for cid in customer_ids]
        settings = draft_settings.drafting_settings(s)
        now = utcnow()
        contexts = build_contexts(s, requests, settings, draft_settings.recommender(s, now=now), now,
                                  describe_reason=draft_settings.describe_ranker_reason)
        draft_settings.with_held_coupons(s, contexts, now)
        book = draft_settings.template_book(s)
    rows = []
    for req in requests:
        ctx = contexts.get(req.customer_id)
        if ctx is None:
            continue  # the customer was removed since the batch was queued
        result = template_draft(ctx, book, settings.banned_words)
        rows.append({"customer_id": req.customer_id, "clerk_id": ctx.clerk_id, "scenario": scenario,
                     "task_id": task_id, "batch_id": batch_id, "channel": req.channel,
                     "source": DraftSource.template, "template_variant": result.variant, "text": result.text,
                     "products": [p.sku for p in result.products], "reason": result.reason[:255],
                     "created_at": now})
    with db.transaction() as s:
        if rows:
            s.execute(insert(Draft), rows)
        batch = s.get(DraftBatch, batch_id)
        batch.done += len(customer_ids)
    log.info("draft batch progress", extra={"batch_id": batch_id, "drafted": len(rows)})
