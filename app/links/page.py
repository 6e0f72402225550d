"""``/p/<token>``: the customer's personal product page (专属商品页), no login.

Server-rendered zh-CN HTML for a phone inside WeChat's browser: one request, inline CSS, no
script, no third-party host. A link that is unknown, malformed or tampered with answers a
friendly 404 page that names nobody; an expired one a friendly page with the clerk's name and
store and a way to ask them for a new one — never a product or the customer's name. Responses
are never cached and never send the token on as a Referer (the shop must not learn it).
"""
from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, redirect, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import db
from app.config import brand_timezone
from app.drafts.settings import recommender
from app.i18n import t
from app.links import actions, settings as link_settings
from app.links.visitors import visitor_class
from assistant.page_products import rank_page_products
from assistant.recommend import load_histories
from assistant.tag_rules import load_rules
from connectors.registry import channel_label
from models import Customer, Product, Staff, Store
from models.links import PersonalLink
from models.money import yuan

bp = Blueprint("personal_page", __name__, template_folder="templates")

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "Content-Security-Policy": ("default-src 'none'; img-src 'self' https: data:; style-src 'unsafe-inline'; "
                                "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
}


def _t(key: str, **params: object) -> str:
    """The page speaks the brand's language (zh-CN), whatever the phone's settings."""
    return t(key, locale=current_app.config.get("DEFAULT_LOCALE", "zh-CN"), **params)


def _html(body: str, status: int = 200) -> Response:
    resp = Response(body, status=status, mimetype="text/html")
    resp.headers.update(HEADERS)
    return resp


def _unknown() -> Response:
    return _html(render_template("links/page.html", mode="unknown", t=_t), 404)


def _clerk_and_store(session: Session, link: PersonalLink) -> tuple[Staff | None, Store | None]:
    clerk = session.get(Staff, link.clerk_id)
    store = session.get(Store, clerk.store_id) if clerk is not None and clerk.store_id else None
    return clerk, store


def _expired(session: Session, link: PersonalLink, token: str) -> Response:
    clerk, store = _clerk_and_store(session, link)
    return _html(render_template("links/page.html", mode="expired", t=_t, token=token,
                                 clerk=clerk, store=store))


@bp.get("/p/<token>")
def show(token: str):
    with db.transaction() as s:
        link = actions.find_by_token(s, token)
        if link is None:
            return _unknown()
        if not actions.is_open(link):
            return _expired(s, link, token)
        agent = visitor_class(request.headers)
        if agent is not None:
            actions.record(s, link, "view", agent=agent)
        html = render_template("links/page.html", mode="page", t=_t, **page_context(s, link, token))
    return _html(html)


@bp.get("/p/<token>/buy/<sku>")
def buy(token: str, sku: str):
    with db.transaction() as s:
        link = actions.find_by_token(s, token)
        if link is None or sku not in (link.skus or []):
            return _unknown()
        if not actions.is_open(link):
            return _expired(s, link, token)
        product = s.scalar(select(Product).where(Product.sku == sku))
        target = actions.shop_url(link_settings.load(s), sku, product.url if product else None, link.code)
        if product is None or target is None:
            return _unknown()
        agent = visitor_class(request.headers)
        if agent is not None:
            actions.record(s, link, "click", agent=agent, sku=sku)
            actions.record(s, link, "buy", agent=agent, sku=sku, product_name=product.name)
    resp = redirect(target, code=302)
    resp.headers.update({"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
    return resp


@bp.get("/p/<token>/ask")
def ask(token: str):
    """"问问导购": the clerk is told at once in their chat; the customer is told to reply where the
    message came from (the chat with the clerk is that channel's own thread)."""
    with db.transaction() as s:
        link = actions.find_by_token(s, token)
        if link is None:
            return _unknown()
        agent = visitor_class(request.headers)
        if agent is not None:
            actions.record(s, link, "ask", agent=agent)
        clerk, store = _clerk_and_store(s, link)
        html = render_template("links/page.html", mode="asked", t=_t, token=token, clerk=clerk, store=store,
                               channel=channel_label(link.channel) if link.channel else None,
                               expired=not actions.is_open(link))
    return _html(html)


def page_context(session: Session, link: PersonalLink, token: str) -> dict[str, Any]:
    """What the page shows: the clerk, the greeting, the products ranked for this customer, the
    coupon they hold, and how long the page stays open."""
    customer = session.get(Customer, link.customer_id)
    clerk, store = _clerk_and_store(session, link)
    settings = link_settings.load(session)
    rules = load_rules(session)
    ranked = rank_page_products(recommender(session), load_histories(session, [customer.id])[customer.id],
                                link.skus or [], (rules.price_band_low_yuan * 100, rules.price_band_high_yuan * 100),
                                in_band_reason=_t("links.page.in_band"))
    products = []
    for p in ranked:
        url = actions.shop_url(settings, p.item.sku, p.item.url, link.code)
        products.append({"sku": p.item.sku, "name": p.item.name, "price": yuan(p.item.price_fen), "reason": p.reason,
                         "image": p.item.image_url if p.item.image_url and p.item.image_url.startswith("https://") else None,
                         "buy": f"/p/{token}/buy/{quote(p.item.sku, safe='')}" if url else None})
    return {"token": token, "customer_name": customer.name, "clerk": clerk, "store": store, "products": products,
            "coupons": held_coupons(session, customer.id, _coupon_source(link))[:2],
            "expires": _month_day(link.expires_at.astimezone(brand_timezone()))}


def _month_day(when: dt.datetime) -> str:
    return f"{when.month}月{when.day}日"


def _coupon_source(link: PersonalLink) -> tuple[str, str] | None:
    """The coupons issued by what sent this page (a care task's coupon) come first on it."""
    return (link.source_kind, str(link.source_id)) if link.source_id is not None else None


def held_coupons(session: Session, customer_id: int, first_from: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """The coupons the customer holds now (the coupons area's own query), or none before it exists."""
    try:
        from app.coupons.queries import held_coupons as query
    except ImportError:
        return []
    return query(session, customer_id, first_from=first_from)
