"""What drafting reads from the brand's settings (models.Setting) and configuration, cached.

Setting keys: ``offers`` ({"offers": [...]}, the discounts and gifts drafts may mention; a coupon
only when the customer holds one, see ``with_held_coupons``),
``draft_templates`` ({"scenarios": {...}}, head office's replacements of default scenarios) and
``drafting`` ({"banned_words": [...], "sms_signature": "...", "sms_segments": 2}).
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from flask import Flask, current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assistant import guardrails
from assistant.drafting import (DraftContext, DraftingSettings, ModelConfig, ModelDrafter, Offer, TemplateBook,
                                parse_offers)
from assistant.recommend import Recommender, fit_copurchase, load_catalogue
from models import Product, Setting, utcnow

OFFERS_KEY = "offers"
TEMPLATES_KEY = "draft_templates"
POLICY_KEY = "drafting"
# How old the co-purchase fit may get before a background refit (new orders shift it slowly).
RECOMMENDER_MAX_AGE = 300.0
_lock = threading.Lock()


def setting(session: Session, key: str) -> dict[str, Any]:
    row = session.get(Setting, key)
    return dict(row.value) if row is not None else {}


def policy(session: Session) -> dict[str, Any]:
    """Banned words, SMS signature and segments, defaults filled in."""
    value = setting(session, POLICY_KEY)
    return {
        "banned_words": list(value.get("banned_words", guardrails.DEFAULT_BANNED_WORDS)),
        "sms_signature": value.get("sms_signature") or current_app.config.get("SMS_SIGNATURE")
        or current_app.config["BRAND_NAME"],
        "sms_segments": int(value.get("sms_segments", 2)),
    }


def drafting_settings(session: Session) -> DraftingSettings:
    offers, _errors = parse_offers(setting(session, OFFERS_KEY).get("offers", []))
    pol = policy(session)
    return DraftingSettings(brand=current_app.config["BRAND_NAME"], sms_signature=pol["sms_signature"],
                            offers=tuple(offers), banned_words=tuple(pol["banned_words"]),
                            sms_segments=pol["sms_segments"], timezone=current_app.config["BRAND_TIMEZONE"])


def with_held_coupons(session: Session, contexts: dict[int, DraftContext], now: dt.datetime) -> None:
    """A draft may mention a coupon only when one was issued to that customer: each context's
    coupon offers become the customer's usable coupons (``app.coupons.queries.held_coupons``), so the
    guardrails accept exactly their titles and amounts and catch any other coupon or amount."""
    from app.coupons.queries import held_coupons_of

    held = held_coupons_of(session, list(contexts), now)
    for customer_id, ctx in contexts.items():
        coupons = [Offer(code=c["code"], label=c["title"] if c["title"].endswith("券") else c["title"] + "券",
                         kind="coupon", amount_fen=c["amount_fen"], threshold_fen=c["threshold_fen"] or None)
                   for c in held.get(customer_id, [])]
        ctx.offers = coupons + [o for o in ctx.offers if o.kind != "coupon"]


def template_book(session: Session, app: Flask | None = None) -> TemplateBook:
    """The templates in force, compiled once per change of head office's overrides."""
    app = app or current_app
    row = session.get(Setting, TEMPLATES_KEY)
    stamp = row.updated_at if row is not None else None
    cached = app.extensions.get("daogou.drafts.book")
    if cached is not None and cached[0] == stamp:
        return cached[1]
    book = TemplateBook.with_overrides(row.value.get("scenarios") if row is not None else None)
    app.extensions["daogou.drafts.book"] = (stamp, book)
    return book


class RecommenderCache:
    """The fitted co-purchase model and catalogue of one app process.

    The catalogue is reloaded as soon as products change (stock matters at once). The similarity
    is refitted when older than RECOMMENDER_MAX_AGE, in a background thread while the previous
    fit keeps serving: at 80k orders a fit takes over a second and no clerk should wait for it.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.similarity = None
        self.fitted_at = 0.0
        self.refitting = False
        self.catalogue = None
        self.product_stamp = None
        self.built: tuple[Any, Recommender] | None = None

    def get(self, session: Session, app: Flask, now: dt.datetime) -> Recommender:
        stamp = tuple(session.execute(select(func.count(Product.id), func.max(Product.updated_at))).one())
        with self.lock:
            if self.similarity is None:
                self.similarity, self.fitted_at = fit_copurchase(session), time.monotonic()
            elif time.monotonic() - self.fitted_at > RECOMMENDER_MAX_AGE and not self.refitting:
                self.refitting = True
                threading.Thread(target=self._refit, args=(app,), name="daogou-recommender", daemon=True).start()
            if stamp != self.product_stamp:
                self.catalogue, self.product_stamp = load_catalogue(session), stamp
            key = (stamp, id(self.similarity))
            if self.built is None or self.built[0] != key or abs((now - self.built[1].now).total_seconds()) > RECOMMENDER_MAX_AGE:
                self.built = (key, Recommender(self.catalogue, self.similarity, now))
            return self.built[1]

    def _refit(self, app: Flask) -> None:
        from app.db import get_db

        try:
            with get_db(app).Session() as s:
                similarity = fit_copurchase(s)
            with self.lock:
                self.similarity, self.fitted_at = similarity, time.monotonic()
        finally:
            with self.lock:
                self.refitting = False


def recommender(session: Session, app: Flask | None = None, now: dt.datetime | None = None) -> Recommender:
    """A recommender over the current catalogue and co-purchases (see ``RecommenderCache``)."""
    app = app or current_app
    with _lock:
        cache = app.extensions.setdefault("daogou.drafts.recommender", RecommenderCache())
    return cache.get(session, app, now or utcnow())


def describe_ranker_reason(reason: dict[str, Any]) -> str:
    """One of the ranker's reasons in the clerk's words (the Today card's own sentences)."""
    from app.today.serialize import reason_text

    try:
        return reason_text({**reason, "params": reason.get("params") or {}}, "zh-CN")
    except (KeyError, IndexError, ValueError):  # a sentence whose facts changed shape: leave it out
        return ""


def model_drafter(app: Flask | None = None) -> ModelDrafter | None:
    """The model path when an endpoint or key is configured; None means templates only."""
    config = (app or current_app).config
    if not (config.get("OPENAI_API_KEY") or config.get("OPENAI_BASE_URL")):
        return None
    return ModelDrafter(ModelConfig(base_url=config.get("OPENAI_BASE_URL"), api_key=config.get("OPENAI_API_KEY"),
                                    model=config.get("OPENAI_MODEL") or "gpt-4o-mini",
                                    budget_seconds=float(config.get("DRAFT_MODEL_BUDGET", 3.0))))
