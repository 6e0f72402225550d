"""Check a coupon template, an issuing request and the gift budgets before anything is written.

Each ``check_*`` returns ``(values, errors)``; errors map the field (``scope.skus[1]``) to a
sentence. Parsing of text, whole numbers and yuan is the ingestion validator's (one owner).
"""
from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from app.i18n import t
from app.ingest import validate as v
from models.coupons import COUPON_KINDS, COUPON_SOURCES

MAX_VALID_DAYS = 3650
MAX_PER_CUSTOMER = 100
MAX_PERCENT = 90
MAX_SCOPE_ITEMS = 500
MAX_ISSUE = 5000
TEMPLATE_FIELDS = ("name", "kind", "value", "cap", "threshold", "valid_days", "valid_from", "valid_to",
                   "per_customer_limit", "budget_count", "budget_amount", "scope", "refund_returns_coupon", "active")


def _parse(errors: dict[str, str], name: str, parse, raw: Any) -> Any:
    try:
        return parse(raw)
    except v.FieldError as exc:
        errors[name] = exc.reason
        return None


def row_id(raw: Any) -> int:
    """An id in a JSON body: a whole number (JSON's 12.0 is 12), 1..2**31-1."""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return v.count(raw, 1)


def _positive_fen(raw: Any) -> int:
    fen = v.fen(raw)
    if fen <= 0:
        raise v.FieldError("positive", reason=t("coupons.positive_amount"))
    return fen


def _when(raw: Any, tz: ZoneInfo, end_of_day: bool) -> dt.datetime:
    """A date (the whole day counts: from its start, or to its end) or an ISO time."""
    if isinstance(raw, str) and len(raw.strip()) == 10:
        day = v.day(raw)
        start = dt.datetime.combine(day + dt.timedelta(days=1 if end_of_day else 0), dt.time(), tzinfo=tz)
        return start.astimezone(dt.timezone.utc)
    return v.moment(raw, tz)


def check_template(body: Any, tz: ZoneInfo, now: dt.datetime) -> tuple[dict[str, Any], dict[str, str]]:
    """A template body → column values (fen, percent, UTC times, scope) and errors."""
    if not isinstance(body, dict):
        return {}, {"body": t("coupons.body_object")}
    errors: dict[str, str] = {k: t("ingest.unknown_field") for k in body if k not in TEMPLATE_FIELDS}
    values: dict[str, Any] = {}
    for name in ("name", "kind", "value"):
        if body.get(name) in (None, ""):
            errors[name] = t("ingest.required")
    if "name" not in errors:
        values["name"] = _parse(errors, "name", lambda r: v.text(r, 60), body["name"])
    kind = body.get("kind")
    if "kind" not in errors and kind not in COUPON_KINDS:
        errors["kind"] = t("ingest.one_of", choices=", ".join(COUPON_KINDS))
    values["kind"] = kind
    _check_value(body, kind, values, errors)
    _check_validity(body, tz, now, values, errors)
    values["per_customer_limit"] = (_parse(errors, "per_customer_limit", lambda r: v.count(r, 1, MAX_PER_CUSTOMER),
                                           body["per_customer_limit"]) if body.get("per_customer_limit") is not None else 1)
    values["budget_count"] = (_parse(errors, "budget_count", lambda r: v.count(r, 1), body["budget_count"])
                              if body.get("budget_count") is not None else None)
    values["budget_fen"] = (_parse(errors, "budget_amount", _positive_fen, body["budget_amount"])
                            if body.get("budget_amount") not in (None, "") else None)
    values["refund_returns_coupon"] = (_parse(errors, "refund_returns_coupon", v.flag, body["refund_returns_coupon"])
                                       if body.get("refund_returns_coupon") is not None else False)
    values["active"] = _parse(errors, "active", v.flag, body["active"]) if body.get("active") is not None else True
    values["scope"] = _scope(body.get("scope"), errors)
    face = values.get("cap_fen") if kind == "percent_off" else values.get("value_fen")
    if values["budget_fen"] is not None and face and values["budget_fen"] < face and "budget_amount" not in errors:
        errors["budget_amount"] = t("coupons.budget_below_face")
    return values, errors


def _check_value(body: dict[str, Any], kind: Any, values: dict[str, Any], errors: dict[str, str]) -> None:
    values.update(value_fen=None, percent=None, cap_fen=None, threshold_fen=0)
    if kind == "percent_off":
        if "value" not in errors:
            values["percent"] = _parse(errors, "value", lambda r: v.count(r, 1, MAX_PERCENT), body["value"])
        if body.get("cap") in (None, ""):
            errors["cap"] = t("coupons.cap_required")
        else:
            values["cap_fen"] = _parse(errors, "cap", _positive_fen, body["cap"])
    elif kind in COUPON_KINDS:
        if "value" not in errors:
            values["value_fen"] = _parse(errors, "value", _positive_fen, body["value"])
        if body.get("cap") not in (None, ""):
            errors["cap"] = t("coupons.cap_only_percent")
    threshold = body.get("threshold")
    if threshold not in (None, ""):
        values["threshold_fen"] = _parse(errors, "threshold", v.fen, threshold) or 0
    if kind == "no_threshold" and values["threshold_fen"]:
        errors["threshold"] = t("coupons.no_threshold_has_threshold")
    if kind == "amount_off":
        if not values["threshold_fen"] and "threshold" not in errors:
            errors["threshold"] = t("coupons.threshold_required")
        elif values["value_fen"] and values["threshold_fen"] and values["threshold_fen"] <= values["value_fen"]:
            errors["threshold"] = t("coupons.threshold_above_value")


def _check_validity(body: dict[str, Any], tz: ZoneInfo, now: dt.datetime, values: dict[str, Any],
                    errors: dict[str, str]) -> None:
    values.update(valid_days=None, valid_from=None, valid_to=None)
    has_days = body.get("valid_days") is not None
    has_dates = body.get("valid_from") not in (None, "") or body.get("valid_to") not in (None, "")
    if has_days and has_dates:
        errors["valid_days"] = t("coupons.days_or_dates")
        return
    if has_days:
        values["valid_days"] = _parse(errors, "valid_days", lambda r: v.count(r, 1, MAX_VALID_DAYS), body["valid_days"])
        return
    if body.get("valid_to") in (None, ""):
        errors["valid_to"] = t("coupons.validity_required")
    else:
        values["valid_to"] = _parse(errors, "valid_to", lambda r: _when(r, tz, True), body["valid_to"])
    if body.get("valid_from") not in (None, ""):
        values["valid_from"] = _parse(errors, "valid_from", lambda r: _when(r, tz, False), body["valid_from"])
    start, end = values["valid_from"], values["valid_to"]
    if end is not None and end <= now:
        errors["valid_to"] = t("coupons.ends_in_past")
    elif start is not None and end is not None and start >= end:
        errors["valid_from"] = t("coupons.starts_after_end")


def _scope(raw: Any, errors: dict[str, str]) -> dict[str, list[str]]:
    scope: dict[str, list[str]] = {"categories": [], "skus": []}
    if raw is None:
        return scope
    if not isinstance(raw, dict):
        errors["scope"] = t("ingest.not_object")
        return scope
    for key in raw:
        if key not in scope:
            errors[f"scope.{key}"] = t("ingest.unknown_field")
    for key, length in (("categories", 40), ("skus", 64)):
        items = raw.get(key) or []
        if not isinstance(items, list) or len(items) > MAX_SCOPE_ITEMS:
            errors[f"scope.{key}"] = t("coupons.scope_list", max=MAX_SCOPE_ITEMS)
            continue
        for i, item in enumerate(items):
            value = _parse(errors, f"scope.{key}[{i}]", lambda r: v.text(r, length), item)
            if value is not None and value not in scope[key]:
                scope[key].append(value)
    return scope


def check_source(raw: Any, errors: dict[str, str]) -> tuple[str, str]:
    """``{"kind": "campaign", "id": "12"}`` (or just ``"campaign"``) → (kind, ref); default api."""
    if raw is None:
        return "api", ""
    kind, ref = (raw, None) if isinstance(raw, str) else (raw.get("kind"), raw.get("id")) if isinstance(raw, dict) else (None, None)
    if kind not in COUPON_SOURCES or kind == "clerk":
        errors["source"] = t("ingest.one_of", choices=", ".join(s for s in COUPON_SOURCES if s != "clerk"))
        return "api", ""
    if ref is None:
        return kind, ""
    try:
        return kind, v.text(ref, 64)
    except v.FieldError as exc:
        errors["source.id"] = exc.reason
        return kind, ""


def check_issue(body: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """``{template_id, customers: [external_id…] | segment_id, source?}``."""
    if not isinstance(body, dict):
        return {}, {"body": t("coupons.body_object")}
    errors: dict[str, str] = {k: t("ingest.unknown_field") for k in body
                              if k not in ("template_id", "customers", "segment_id", "source")}
    values: dict[str, Any] = {"customers": None, "segment_id": None}
    tid = body.get("template_id")
    if tid is None:
        errors["template_id"] = t("ingest.required")
    else:
        values["template_id"] = _parse(errors, "template_id", row_id, tid)
    has_list, has_segment = body.get("customers") is not None, body.get("segment_id") is not None
    if has_list == has_segment:
        errors["customers"] = t("coupons.customers_or_segment")
    elif has_list:
        raw = body["customers"]
        if not isinstance(raw, list) or not raw or len(raw) > MAX_ISSUE:
            errors["customers"] = t("coupons.customers_list", max=MAX_ISSUE)
        else:
            values["customers"] = [_parse(errors, f"customers[{i}]", lambda r: v.text(r, 64), c)
                                   for i, c in enumerate(raw)]
    else:
        values["segment_id"] = _parse(errors, "segment_id", row_id, body["segment_id"])
    values["source"], values["source_ref"] = check_source(body.get("source"), errors)
    return values, errors
