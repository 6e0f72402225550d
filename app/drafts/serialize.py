"""JSON shapes of drafts, product cards, batches and the editable documents."""
from __future__ import annotations

from typing import Any

from app.customers.serialize import yuan
from assistant.recommend import CatalogueItem, Recommendation
from models.drafting import Draft, DraftBatch


def product_card(item: CatalogueItem, reason: str | None = None) -> dict[str, Any]:
    """A product as the chat shows it: image, name, price in yuan, link."""
    card = {"id": item.id, "sku": item.sku, "name": item.name, "price": yuan(item.price_fen),
            "image": item.image_url, "link": item.url, "category": item.category}
    if reason is not None:
        card["reason"] = reason
    return card


def recommendation_json(rec: Recommendation) -> dict[str, Any]:
    return {**product_card(rec.product, rec.reason), "kind": rec.kind}


def draft_json(draft: Draft, cards: list[dict[str, Any]], warnings: list[str] | None = None) -> dict[str, Any]:
    body = {
        "draft_id": draft.id, "customer_id": draft.customer_id, "scenario": draft.scenario,
        "task_id": draft.task_id, "channel": draft.channel, "text": draft.text, "products": cards,
        "reason": draft.reason, "source": draft.source.value, "template_variant": draft.template_variant,
        "fallback_reason": draft.fallback_reason,
        "outcome": draft.outcome.value if draft.outcome else None,
    }
    if warnings:
        body["warnings"] = warnings
    return body


def outcome_json(draft: Draft) -> dict[str, Any]:
    return {"draft_id": draft.id, "outcome": draft.outcome.value if draft.outcome else None,
            "outcome_at": draft.outcome_at.isoformat() if draft.outcome_at else None,
            "message_id": draft.message_id,
            "replied_at": draft.replied_at.isoformat() if draft.replied_at else None,
            "bought_order_id": draft.bought_order_id}


def batch_json(batch: DraftBatch) -> dict[str, Any]:
    return {"batch_id": batch.id, "status": batch.status, "total": batch.total, "done": batch.done,
            "progress": round(batch.done / batch.total, 3) if batch.total else 1.0,
            "scenario": batch.scenario, "task_id": batch.task_id, "error": batch.error,
            "created_at": batch.created_at.isoformat(),
            "finished_at": batch.finished_at.isoformat() if batch.finished_at else None}
