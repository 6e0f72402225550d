"""One question, one answer: the model path when a model is configured, else (or when it fails)
the rules path; both call the same tools over the asking clerk's own book."""
from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from app.coach import model, rules, tools
from models import Staff, utcnow

log = logging.getLogger("daogou.coach")


def coach_model() -> model.CoachModel | None:
    config = current_app.config
    if not (config.get("OPENAI_API_KEY") or config.get("OPENAI_BASE_URL")):
        return None
    return model.CoachModel(base_url=config.get("OPENAI_BASE_URL"), api_key=config.get("OPENAI_API_KEY"),
                            model=config.get("OPENAI_MODEL") or "gpt-4o-mini",
                            budget_seconds=float(config.get("COACH_MODEL_BUDGET", 8.0)))


def ask(session: Session, clerk: Staff, question: str) -> dict[str, Any]:
    asker = tools.Asker(session, clerk, utcnow())
    config = coach_model()
    if config is not None:
        try:
            return model.answer(config, asker, question).json("model")
        except model.Unusable as exc:
            log.warning("coach model answer not used", extra={"reason": exc.reason})
            session.rollback()
            body = rules.answer(asker, question).json("rules")
            body["fallback_reason"] = exc.reason
            return body
    return rules.answer(asker, question).json("rules")
