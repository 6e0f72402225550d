"""Personal links: make one, find one, and record what the customer did on its page.

``link_for`` is the one way a link is made — by the API, a clerk's task send, a care task's
fallback, a campaign. A link holds a random token of 96 bits (``secrets.token_urlsafe(12)``,
16 characters: ``https://…/p/<token>`` fits an SMS) of which only the SHA-256 is stored, and an
8-character code that shops append to orders as ``ref``; the code never opens a page.
``record`` writes an event, a staff-only line in the customer's conversation with the clerk
and a live ``link.activity`` for the clerk, in the caller's transaction.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from flask import current_app, has_request_context, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import realtime
from app.errors import DomainError, Invalid, NotFound
from app.i18n import t
from app.links import settings as link_settings
from app.links.visitors import REPEAT_VIEW_SECONDS
from app.messaging.actions import conversation_for
from app.messaging.notes import note_event
from app.urls import web_url_problem
from models import Customer, Product, Staff, utcnow
from models.links import LINK_SOURCES, LinkEvent, PersonalLink

TOKEN_BYTES = 12
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # read from a receipt: no 0/O, 1/I/L
CODE_LENGTH = 8
CODE_SHAPE = re.compile(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")
MAX_PRODUCTS = 20
# A customer who keeps the page open and reloads is one visit for the clerk's chat.
NOTE_VIEW_GAP = dt.timedelta(minutes=30)


@dataclass(frozen=True)
class IssuedLink:
    link: PersonalLink
    token: str  # shown once: only its hash is kept
    url: str

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "token": self.token, "code": self.link.code, "link_id": self.link.id,
                "expires_at": self.link.expires_at.isoformat()}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def page_url(token: str) -> str:
    """The page's address for people: ``PUBLIC_URL``, else the address this request came to."""
    base = current_app.config.get("PUBLIC_URL")
    if not base and has_request_context():
        base = request.host_url.rstrip("/")
    if not base:
        base = f"http://{current_app.config.get('HOST', '127.0.0.1')}:{current_app.config.get('PORT', 5000)}"
    return f"{base}/p/{token}"


def parse_source(raw: Any) -> tuple[str, int | None]:
    """``None`` / ``"task"`` / ``{"kind": "task", "id": 3}`` → (kind, id); else 422 naming ``source``."""
    if raw is None:
        return "clerk", None
    kind, source_id = (raw, None) if isinstance(raw, str) else (
        (raw.get("kind"), raw.get("id")) if isinstance(raw, dict) else (None, None))
    ok_id = source_id is None or (isinstance(source_id, int) and not isinstance(source_id, bool)
                                  and 1 <= source_id <= 2**31 - 1)
    if kind not in LINK_SOURCES or not ok_id:
        raise Invalid(t("links.invalid"), {"source": t("links.error.source", kinds=", ".join(LINK_SOURCES))})
    return kind, source_id


def checked_skus(session: Session, skus: Any) -> list[str]:
    """The SKUs, once each, in order, when they are 1 to 20 known products; else 422 (or 404 for a
    product that does not exist) naming ``products``."""
    if not isinstance(skus, list) or not skus or not all(isinstance(s, str) and s for s in skus):
        raise Invalid(t("links.invalid"), {"products": t("links.error.products", max=MAX_PRODUCTS)})
    wanted = list(dict.fromkeys(skus))
    if len(wanted) > MAX_PRODUCTS:
        raise Invalid(t("links.invalid"), {"products": t("links.error.products", max=MAX_PRODUCTS)})
    known = set(session.scalars(select(Product.sku).where(Product.sku.in_(wanted))))
    missing = [s for s in wanted if s not in known]
    if missing:
        raise NotFound(t("links.invalid"), {"products": t("links.error.unknown_sku", skus="、".join(missing[:5]))})
    return wanted


def _new_code(session: Session) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if session.scalar(select(PersonalLink.id).where(PersonalLink.code == code)) is None:
            return code


def link_for(session: Session, customer_id: int, clerk_id: int, skus: Any, source: Any = None, *,
             channel: str | None = None, created_by: int | None = None) -> IssuedLink:
    """A new personal link of ``customer_id`` from ``clerk_id`` showing ``skus``.

    ``source``: who sends it — ``clerk`` (default), or ``{"kind": "task"|"campaign"|"automation",
    "id": …}``; task and campaign reports read their funnels from it. It opens for the brand's
    ``expiry_days`` (default 14).
    """
    wanted = checked_skus(session, skus)
    kind, source_id = parse_source(source)
    now = utcnow()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = PersonalLink(token_hash=hash_token(token), code=_new_code(session), customer_id=customer_id,
                        clerk_id=clerk_id, skus=wanted, source_kind=kind, source_id=source_id,
                        channel=channel, created_by=created_by, created_at=now,
                        expires_at=now + dt.timedelta(days=link_settings.load(session)["expiry_days"]))
    session.add(link)
    session.flush()
    return IssuedLink(link, token, page_url(token))


def find_by_token(session: Session, token: str) -> PersonalLink | None:
    """The link a page address names, or None. Only a well-formed token reaches the database, and
    it is looked up by its hash: the index compares digests, never the secret itself."""
    if not TOKEN_SHAPE.fullmatch(token or ""):
        return None
    digest = hash_token(token)
    link = session.scalar(select(PersonalLink).where(PersonalLink.token_hash == digest))
    return link if link is not None and hmac.compare_digest(link.token_hash, digest) else None


def resolve_ref(session: Session, ref: str | None) -> PersonalLink | None:
    """The link an order's ``ref`` names: its short code (any case) or its token."""
    ref = (ref or "").strip()
    if CODE_SHAPE.fullmatch(ref.upper()):
        return session.scalar(select(PersonalLink).where(PersonalLink.code == ref.upper()))
    return find_by_token(session, ref)


def is_open(link: PersonalLink, now: dt.datetime | None = None) -> bool:
    return (now or utcnow()) < link.expires_at


def with_ref(url: str, code: str) -> str:
    """``url`` with ``ref=<code>`` in its query (replacing any ``ref`` already there)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "ref"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("ref", code)])))


def shop_url(settings: dict[str, Any], sku: str, product_url: str | None, code: str) -> str | None:
    """Where "去购买" leads for ``sku``: the brand's template, else the product's own page; only
    ever an http(s) address."""
    template = settings.get("shop_url")
    url = template.replace(link_settings.SKU_SLOT, quote(sku, safe="")) if template else product_url
    if not url or web_url_problem(url):
        return None
    return with_ref(url, code)


# --- What the customer did --------------------------------------------------------------------

def record(session: Session, link: PersonalLink, kind: str, *, agent: str, sku: str | None = None,
           product_name: str | None = None) -> LinkEvent | None:
    """Record a view, click, buy click or "问问导购" tap; tell the clerk in the chat and live.

    A view within ``REPEAT_VIEW_SECONDS`` of the last one is the same visit (a reload, or
    WeChat's server re-fetching the page the customer just opened) and is not recorded.
    """
    now = utcnow()
    previous = None
    if kind == "view":
        previous = session.scalar(select(func.max(LinkEvent.at)).where(LinkEvent.link_id == link.id,
                                                                      LinkEvent.kind == "view"))
        if previous is not None and now - previous < dt.timedelta(seconds=REPEAT_VIEW_SECONDS):
            return None
    event = LinkEvent(link_id=link.id, kind=kind, sku=sku, at=now, agent=agent)
    session.add(event)
    session.flush()
    if kind == "click":
        return event  # a buy click follows at once and speaks for both
    if kind == "view" and previous is not None and now - previous < NOTE_VIEW_GAP:
        return event
    _tell_clerk(session, link, kind, product_name)
    return event


def _tell_clerk(session: Session, link: PersonalLink, kind: str, product_name: str | None) -> None:
    customer = session.get(Customer, link.customer_id)
    clerk = session.get(Staff, link.clerk_id)
    locale = clerk.locale if clerk is not None else None
    views = 0
    if kind == "view":
        views = session.scalar(select(func.count()).where(LinkEvent.link_id == link.id, LinkEvent.kind == "view"))
    key = {"view": "links.note.viewed" if views <= 1 else "links.note.viewed_again",
           "buy": "links.note.buy", "ask": "links.note.ask"}[kind]
    body = t(key, locale=locale, name=customer.name, n=views, product=product_name or "")
    conv = conversation_for(session, link.customer_id, link.clerk_id)
    msg = note_event(session, conv, body, payload={"link_id": link.id, "kind": kind})
    realtime.publish(session, realtime.clerk_room(link.clerk_id), realtime.LINK_ACTIVITY,
                     activity_payload(link, customer, kind, body, conv.id, msg.id))


def activity_payload(link: PersonalLink, customer: Customer, kind: str, message: str,
                     conversation_id: int, message_id: int) -> dict[str, Any]:
    """The ``link.activity`` event: what the clerk's console shows ("王女士 看了你发的商品页")."""
    return {"link_id": link.id, "kind": kind, "message": message,
            "customer": {"id": customer.id, "name": customer.name},
            "conversation_id": conversation_id, "message_id": message_id}


def attach_link(session: Session, body: str, payload: dict[str, Any], *, customer_id: int, clerk_id: int,
                skus: list[str] | None, source: dict[str, Any], channel: str | None) -> tuple[str, dict[str, Any]]:
    """A task's or campaign's message with the customer's own page: its address after the copy,
    the link in the payload. Without products (or with none left in the catalogue) the message
    goes as written."""
    if not skus:
        return body, payload
    try:
        issued = link_for(session, customer_id, clerk_id, skus, source, channel=channel)
    except DomainError:
        return body, payload
    return f"{body}\n{issued.url}", {**payload, "link_id": issued.link.id}
