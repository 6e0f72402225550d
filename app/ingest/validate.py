"""Check one integrator object at a time, in plain Python, before anything touches the database.

Each ``check_<kind>(obj, tz)`` returns ``(values, errors)``: ``values`` holds the columns the
object sets, already converted (yuan → fen, local time → UTC), ``errors`` maps a field name to
a reason a person can act on. A field that is absent leaves the stored value alone (upsert
semantics); a field sent as ``null`` clears it where the column allows. References to other
objects (customer, store, sku, clerk) are kept as external ids: the actions resolve them with one
query per kind for the whole batch.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.i18n import t
from app.coupons.terms import normalise_code
from app.urls import MAX_URL_CHARS, web_url_problem
from connectors.registry import channel_kinds, is_channel
from models.commerce import ORDER_STATUSES

# NUL and other control characters break PostgreSQL text and every screen; lone surrogates
# (legal as JSON escapes) cannot be stored as UTF-8.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_MONEY = re.compile(r"(-?)(\d{1,13})(?:\.(\d{1,2}))?")
_GENDERS = {"F": "F", "M": "M", "f": "F", "m": "M", "女": "F", "男": "M"}
_TRUE = {"1", "true", "yes", "y", "是"}
_FALSE = {"0", "false", "no", "n", "否"}
MAX_ITEMS = 200
_EXTERNAL_ID_LEN = 64


class FieldError(ValueError):
    """A value that cannot be accepted; ``reason`` is already translated."""

    def __init__(self, key: str, *, reason: str | None = None, **params: Any) -> None:
        self.reason = reason or t(f"ingest.{key}", **params)
        super().__init__(self.reason)


def text(value: Any, max_len: int) -> str:
    if type(value) is not str:
        if isinstance(value, bool) or not isinstance(value, int):
            raise FieldError("not_text")
        value = str(value)
    value = value.strip()
    if not value:
        raise FieldError("empty")
    # isprintable() is the fast common case; it is also false for harmless full-width spaces.
    if not value.isprintable() and _UNPRINTABLE.search(value):
        raise FieldError("unprintable")
    if len(value) > max_len:
        raise FieldError("too_long", max=max_len)
    return value


def fen(value: Any) -> int:
    """Money on the wire is a yuan decimal string ("268.00"); keep it as integer fen."""
    if type(value) is not str:
        raise FieldError("money_type")
    whole, dot, cents = value.strip().partition(".")
    if (whole.isdigit() and whole.isascii() and len(whole) <= 13
            and (not dot or (cents.isdigit() and cents.isascii() and len(cents) <= 2))):
        return int(whole) * 100 + (int(cents) * (10 if len(cents) == 1 else 1) if dot else 0)
    m = _MONEY.fullmatch(value.strip())
    if m is not None and m.group(1):
        raise FieldError("negative")
    raise FieldError("money_format")


MAX_USAGE_DAYS = 3650
MAX_QUANTITY = 100_000


def count(value: Any, minimum: int = 0, maximum: int = 2**31 - 1) -> int:
    """A whole number; CSV cells arrive as strings, JSON as numbers."""
    if isinstance(value, bool):
        raise FieldError("integer")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise FieldError("integer")
    if value < minimum:
        raise FieldError("at_least", min=minimum)
    if value > maximum:
        raise FieldError("at_most", max=maximum)
    return value


def web_url(value: Any) -> str:
    """A product page or image address: http(s) only (it becomes a link on clerks' and customers' screens)."""
    value = text(value, MAX_URL_CHARS)
    problem = web_url_problem(value)
    if problem:
        raise FieldError("url", reason=problem)
    return value


def flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise FieldError("boolean")


def moment(value: Any, tz: dt.tzinfo) -> dt.datetime:
    """ISO 8601; a time without an offset is in the brand's timezone. Stored as UTC."""
    if not isinstance(value, str):
        raise FieldError("datetime")
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise FieldError("datetime") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(dt.timezone.utc)


def day(value: Any) -> dt.date:
    if not isinstance(value, str):
        raise FieldError("date")
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise FieldError("date") from None


def timezone_name(value: Any) -> str:
    name = text(value, 64)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FieldError("timezone") from None
    return name


def gender(value: Any) -> str:
    if isinstance(value, str) and value.strip() in _GENDERS:
        return _GENDERS[value.strip()]
    raise FieldError("gender")


def channel(value: Any) -> str:
    if not is_channel(value):
        raise FieldError("one_of", choices=", ".join(channel_kinds()))
    return value


IN_STORE = "in_store"


def follow_channels() -> tuple[str, ...]:
    """How a customer can meet their clerk: a messaging channel, or in the shop."""
    return (*channel_kinds(), IN_STORE)


def follow_channel(value: Any) -> str:
    if value != IN_STORE and not is_channel(value):
        raise FieldError("one_of", choices=", ".join(follow_channels()))
    return value


def status(value: Any) -> str:
    if value not in ORDER_STATUSES:
        raise FieldError("one_of", choices=", ".join(ORDER_STATUSES))
    return value


def coupon_code(value: Any) -> str:
    """A coupon code as a person may type it (lower case, spaces, dashes), in its stored form."""
    code = normalise_code(text(value, 40))
    if not code or len(code) > 32:
        raise FieldError("coupon_code")
    return code


def _optional(parse):
    """``null`` clears the column; anything else goes through ``parse``."""
    def parse_or_none(value: Any, *args: Any) -> Any:
        return None if value is None else parse(value, *args)
    return parse_or_none


def _text_field(max_len: int):
    return lambda value: text(value, max_len)


# Column specs: field name → (column, parser, required, needs_tz). ``column`` None means the
# value is a reference or a nested structure handled by the check function itself.
Spec = dict[str, tuple[str, Any, bool, bool]]

STORE: Spec = {
    "external_id": ("external_id", _text_field(_EXTERNAL_ID_LEN), True, False),
    "name": ("name", _text_field(120), True, False),
    "city": ("city", _optional(_text_field(60)), False, False),
    "province": ("province", _optional(_text_field(60)), False, False),
    "timezone": ("timezone", _optional(timezone_name), False, False),
}

PRODUCT: Spec = {
    "sku": ("sku", _text_field(64), True, False),
    "name": ("name", _text_field(120), True, False),
    "category": ("category", _text_field(40), True, False),
    "price": ("price_fen", fen, True, False),
    "usage_days": ("usage_days", _optional(lambda v: count(v, 1, MAX_USAGE_DAYS)), False, False),
    "in_stock": ("in_stock", flag, False, False),
    "image_url": ("image_url", _optional(web_url), False, False),
    "url": ("url", _optional(web_url), False, False),
    "launched_at": ("launched_at", _optional(moment), False, True),
}

CUSTOMER: Spec = {
    "external_id": ("external_id", _text_field(_EXTERNAL_ID_LEN), True, False),
    "name": ("name", _text_field(80), True, False),
    "phone": ("phone", _optional(_text_field(20)), False, False),
    "email": ("email", _optional(_text_field(254)), False, False),
    "gender": ("gender", _optional(gender), False, False),
    "birthday": ("birthday", _optional(day), False, False),
    "address": ("address", _optional(_text_field(255)), False, False),
    "city": ("city", _optional(_text_field(60)), False, False),
    "province": ("province", _optional(_text_field(60)), False, False),
    "member_level": ("member_level", _optional(_text_field(32)), False, False),
    "store": ("", _optional(_text_field(_EXTERNAL_ID_LEN)), False, False),
    "clerk": ("", _optional(_text_field(_EXTERNAL_ID_LEN)), False, False),
    "channel": ("", follow_channel, False, False),
}

ORDER: Spec = {
    "external_id": ("external_id", _text_field(_EXTERNAL_ID_LEN), True, False),
    "customer": ("", _text_field(_EXTERNAL_ID_LEN), True, False),
    "store": ("", _optional(_text_field(_EXTERNAL_ID_LEN)), False, False),
    "clerk": ("", _optional(_text_field(_EXTERNAL_ID_LEN)), False, False),
    "status": ("status", status, True, False),
    "created_at": ("created_at", moment, True, True),
    "paid_at": ("paid_at", _optional(moment), False, True),
    "shipped_at": ("shipped_at", _optional(moment), False, True),
    "delivered_at": ("delivered_at", _optional(moment), False, True),
    "completed_at": ("completed_at", _optional(moment), False, True),
    "cancelled_at": ("cancelled_at", _optional(moment), False, True),
    "refunded_at": ("refunded_at", _optional(moment), False, True),
    "amount": ("amount_fen", fen, True, False),
    "refund_amount": ("refund_amount_fen", _optional(fen), False, False),
    "items": ("", None, True, False),
    "ref": ("ref", _optional(_text_field(64)), False, False),
    "coupon_code": ("coupon_code", _optional(coupon_code), False, False),
}


def _check(obj: Any, spec: Spec, tz: dt.tzinfo,
           required_fields: tuple[str, ...] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """Values keyed by *field* name (columns are applied by the caller) and errors.
    ``required_fields``: the spec's, known here for the four specs of this module."""
    if type(obj) is not dict:
        return {}, {"": t("ingest.not_object")}
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    # Walk the object's own keys (usually fewer than the spec's), then look for missing ones.
    for name, raw in obj.items():
        entry = spec.get(name)
        if entry is None:
            if name != "identities":
                errors[name] = t("ingest.unknown_field")
            continue
        _column, parse, required, needs_tz = entry
        if raw is None and required:
            errors[name] = t("ingest.required")
        elif parse is not None:
            try:
                values[name] = parse(raw, tz) if needs_tz else parse(raw)
            except FieldError as exc:
                errors[name] = exc.reason
    for name in _REQUIRED[id(spec)] if required_fields is None else required_fields:
        if name not in obj:
            errors[name] = t("ingest.required")
    return values, errors


def columns(values: dict[str, Any], spec: Spec) -> dict[str, Any]:
    """Map checked field values to column values, leaving out references."""
    return {spec[name][0]: v for name, v in values.items() if name in spec and spec[name][0]}


_REQUIRED = {id(spec): tuple(name for name, entry in spec.items() if entry[2])
             for spec in (STORE, PRODUCT, CUSTOMER, ORDER)}


def check_store(obj: Any, tz: dt.tzinfo) -> tuple[dict[str, Any], dict[str, str]]:
    return _check(obj, STORE, tz)


def check_product(obj: Any, tz: dt.tzinfo) -> tuple[dict[str, Any], dict[str, str]]:
    return _check(obj, PRODUCT, tz)


def check_customer(obj: Any, tz: dt.tzinfo) -> tuple[dict[str, Any], dict[str, str]]:
    values, errors = _check(obj, CUSTOMER, tz)
    if "channel" in values and "clerk" not in values:
        errors.setdefault("channel", t("ingest.channel_without_clerk"))
    if isinstance(obj, dict) and "identities" in obj:
        values["identities"] = _identities(obj["identities"], errors)
    return values, errors


def _identities(raw: Any, errors: dict[str, str]) -> list[tuple[str, str, str]]:
    if not isinstance(raw, list):
        errors["identities"] = t("ingest.not_list")
        return []
    found: list[tuple[str, str, str]] = []
    for i, ident in enumerate(raw):
        where = f"identities[{i}]"
        if not isinstance(ident, dict):
            errors[where] = t("ingest.not_object")
            continue
        try:
            account = ident.get("account")
            found.append((channel(ident.get("channel")), "" if account in (None, "") else text(account, 64),
                          text(ident.get("external_id"), 128)))
        except FieldError as exc:
            errors[where] = exc.reason
    return found


def brand_timezone(name: str) -> dt.tzinfo:
    return ZoneInfo(name)
