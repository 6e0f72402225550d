"""The brand's settings for personal pages (models.Setting ``personal_links``).

- ``expiry_days`` (default 14): how long a new link opens its page;
- ``click_window_days`` (default 7): an order counts for the link's clerk (the "shared link"
  attribution rule) when its product was clicked at most this long before payment;
- ``shop_url``: where "去购买" leads, a template with ``{sku}``
  (``https://shop.example.com/goods/{sku}``, a Youzan or Tmall item page, a mini-program's web
  path); without it a product's own ``url`` is used. Either way ``ref=<link code>`` is appended.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.errors import Invalid
from app.i18n import t
from app.urls import web_url_problem
from models import Setting, Staff

SETTING_KEY = "personal_links"
DEFAULTS: dict[str, Any] = {"expiry_days": 14, "click_window_days": 7, "shop_url": None}
MAX_EXPIRY_DAYS = 90
MAX_CLICK_WINDOW_DAYS = 30
SKU_SLOT = "{sku}"


def load(session: Session) -> dict[str, Any]:
    """The settings in force, defaults filled in."""
    row = session.get(Setting, SETTING_KEY)
    return {**DEFAULTS, **{k: v for k, v in (row.value if row else {}).items() if k in DEFAULTS}}


def validate(value: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings from a request body, and ``{field: sentence}`` for what is wrong."""
    if not isinstance(value, dict):
        return dict(DEFAULTS), {"": t("links.settings.error.body")}
    errors = {key: t("links.settings.error.unknown") for key in sorted(set(value) - set(DEFAULTS))}
    out = dict(DEFAULTS)
    for key, high in (("expiry_days", MAX_EXPIRY_DAYS), ("click_window_days", MAX_CLICK_WINDOW_DAYS)):
        days = value.get(key, DEFAULTS[key])
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= high:
            errors[key] = t(f"links.settings.error.{key}", max=high)
        else:
            out[key] = days
    shop_url = value.get("shop_url")
    if shop_url not in (None, ""):
        problem = template_problem(shop_url)
        if problem:
            errors["shop_url"] = problem
        else:
            out["shop_url"] = shop_url
    return out, errors


def template_problem(template: Any) -> str | None:
    """Why ``template`` is not a shop address with a ``{sku}`` slot, or None."""
    if not isinstance(template, str) or SKU_SLOT not in template:
        return t("links.settings.error.shop_url_slot")
    return web_url_problem(template.replace(SKU_SLOT, "SKU"))


def save(session: Session, staff: Staff, value: Any) -> dict[str, Any]:
    """Validate and store head office's settings; links made from now on follow them."""
    settings, errors = validate(value)
    if errors:
        raise Invalid(t("links.settings.invalid"), errors)
    row = session.get(Setting, SETTING_KEY)
    if row is None:
        session.add(Setting(key=SETTING_KEY, value=settings, updated_by=staff.id))
    else:
        row.value, row.updated_by = settings, staff.id
    session.flush()
    return settings
