"""The order checker: orders arrive by the hundred thousand (CSV imports), so ``validate._check``
runs them through compiled parsers with the same values and the same errors as ``ORDER``'s."""
from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from app.i18n import t
from app.ingest.validate import (_EXTERNAL_ID_LEN, MAX_ITEMS, MAX_QUANTITY, ORDER, ORDER_STATUSES, FieldError, Spec,
                                 _check, count, fen, moment, status, text)

# One parser per field taking (raw, tz), each trying the plain common case inline and handing
# anything unusual to the general parser in ``validate``, which decides (and words the error).

def _fast_text(max_len: int, optional: bool):
    def parse(raw: Any, tz: dt.tzinfo) -> Any:
        if type(raw) is str:
            value = raw.strip()
            if value and len(value) <= max_len and value.isprintable():
                return value
        elif raw is None and optional:
            return None
        return text(raw, max_len)
    return parse


@functools.lru_cache(maxsize=1 << 16)
def _moment_of(raw: str, tz: dt.tzinfo) -> dt.datetime:
    # Order files repeat their timestamps (one order's paid_at is often another's created_at);
    # the result is an immutable datetime, and a refusal raises and so is never cached.
    return moment(raw, tz)


def _fast_moment(optional: bool):
    def parse(raw: Any, tz: dt.tzinfo) -> Any:
        if raw is None and optional:
            return None
        return _moment_of(raw, tz) if type(raw) is str else moment(raw, tz)
    return parse


def _fast_fen(optional: bool):
    def parse(raw: Any, tz: dt.tzinfo) -> Any:
        return None if raw is None and optional else fen(raw)
    return parse


def _plain(parse):
    return lambda raw, tz: parse(raw)


_STATUS_SET = frozenset(ORDER_STATUSES)


def _fast_status(raw: Any, tz: dt.tzinfo) -> str:
    return raw if type(raw) is str and raw in _STATUS_SET else status(raw)


def _compile_order_spec() -> Spec:
    """``ORDER`` with the fast parsers, each taking (raw, tz)."""
    compiled: Spec = {}
    for name, (column, _parse, required, needs_tz) in ORDER.items():
        optional = not required
        if name in ("external_id", "customer", "store", "clerk"):
            parse = _fast_text(_EXTERNAL_ID_LEN, optional)
        elif name == "status":
            parse = _fast_status
        elif needs_tz:
            parse = _fast_moment(optional)
        elif name in ("amount", "refund_amount"):
            parse = _fast_fen(optional)
        elif name == "items":
            parse = None  # checked by _items
        else:
            parse = _plain(ORDER[name][1])
        compiled[name] = (column, parse, required, True)
    return compiled


_ORDER_COMPILED = _compile_order_spec()
_ORDER_REQUIRED = tuple(name for name, entry in ORDER.items() if entry[2])


def check_order(obj: Any, tz: dt.tzinfo) -> tuple[dict[str, Any], dict[str, str]]:
    values, errors = _check(obj, _ORDER_COMPILED, tz, _ORDER_REQUIRED)
    if isinstance(obj, dict) and "items" in obj:
        values["items"] = _items(obj["items"], errors)
    amount = values.get("amount")
    refund = values.get("refund_amount")
    if amount is not None and refund is not None and refund > amount:
        errors["refund_amount"] = t("ingest.refund_above_amount")
    if values.get("status") not in (None, "created", "cancelled") and values.get("paid_at") is None:
        errors.setdefault("paid_at", t("ingest.paid_at_required"))
    return values, errors


_sku = _fast_text(64, False)


def _quantity(value: Any) -> int:
    """``count(value, 1, MAX_QUANTITY)``, with plain digits and ints taken straight."""
    if type(value) is str and value.isascii() and value.isdigit():
        number = int(value)
        if 1 <= number <= MAX_QUANTITY:
            return number
    elif type(value) is int and 1 <= value <= MAX_QUANTITY:
        return value
    return count(value, 1, MAX_QUANTITY)


_ITEM_FIELDS = (("sku", lambda v: text(v, 64)), ("quantity", lambda v: count(v, 1, MAX_QUANTITY)), ("price", fen))


def _items(raw: Any, errors: dict[str, str]) -> list[tuple[str, int, int]]:
    """Order lines as (sku, quantity, unit price in fen)."""
    if type(raw) is not list or not raw:
        errors["items"] = t("ingest.items_required")
        return []
    if len(raw) > MAX_ITEMS:
        errors["items"] = t("ingest.too_many_items", max=MAX_ITEMS)
        return []
    lines: list[tuple[str, int, int]] = []
    for i, item in enumerate(raw):
        try:
            # The common case, straight through; anything odd is explained field by field below.
            lines.append((_sku(item["sku"], None), _quantity(item["quantity"]), fen(item["price"])))
        except (TypeError, KeyError, FieldError):
            _item_errors(i, item, errors)
    return lines


def _item_errors(i: int, item: Any, errors: dict[str, str]) -> None:
    if not isinstance(item, dict):
        errors[f"items[{i}]"] = t("ingest.not_object")
        return
    for key, parse in _ITEM_FIELDS:
        if key not in item:
            errors[f"items[{i}].{key}"] = t("ingest.required")
            continue
        try:
            parse(item[key])
        except FieldError as exc:
            errors[f"items[{i}].{key}"] = exc.reason
