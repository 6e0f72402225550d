"""What a coupon is worth and how people read it: codes, titles (满200减20), discounts, validity.

Plain functions over a template's values, shared by issuing, redemption, the customer's coupon
list, the personal page and drafting, so "满200减20" and the discount it gives never disagree.
"""
from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from models.coupons import CouponKind

# Codes are read aloud at tills and typed from SMS: no 0/O, 1/I/L, no lower case.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12  # 31^12 ≈ 2^59: guessing one live code among millions stays hopeless


def new_code() -> str:
    """A fresh unguessable coupon code (``secrets``, 12 characters from CODE_ALPHABET)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str:
    """What a person may type: lower case, spaces and dashes (``abcd-efgh ...``) are forgiven."""
    return "".join(raw.split()).replace("-", "").upper()


def compact_yuan(fen: int) -> str:
    """2000 → "20", 1990 → "19.9", 1995 → "19.95" (as a price tag reads)."""
    whole, cents = divmod(int(fen), 100)
    if not cents:
        return str(whole)
    return f"{whole}.{cents:02d}".rstrip("0")


def zhe(percent: int) -> str:
    """Percent off as the Chinese discount it is: 20 → "8", 15 → "8.5", 5 → "9.5"."""
    tenths = 100 - int(percent)
    return str(tenths // 10) if tenths % 10 == 0 else f"{tenths / 10:g}"


def title(kind: str, value_fen: int | None, percent: int | None, threshold_fen: int) -> str:
    """The coupon as customers read it: 满200减20, 无门槛减10, 满100享8折, 8.5折券."""
    kind = CouponKind(kind)
    if kind == CouponKind.percent_off:
        off = f"{zhe(percent or 0)}折"
        return f"满{compact_yuan(threshold_fen)}享{off}" if threshold_fen else f"{off}券"
    if kind == CouponKind.amount_off and threshold_fen:
        return f"满{compact_yuan(threshold_fen)}减{compact_yuan(value_fen or 0)}"
    return f"无门槛减{compact_yuan(value_fen or 0)}"


def value_label(kind: str, value_fen: int | None, percent: int | None, cap_fen: int | None) -> str:
    """The big figure on the coupon: ¥20, or 8折 (最高减¥50)."""
    if CouponKind(kind) == CouponKind.percent_off:
        label = f"{zhe(percent or 0)}折"
        return f"{label}（最高减¥{compact_yuan(cap_fen)}）" if cap_fen else label
    return f"¥{compact_yuan(value_fen or 0)}"


def scope_label(scope: dict[str, Any] | None) -> str:
    scope = scope or {}
    if scope.get("skus"):
        return "限指定商品"
    if scope.get("categories"):
        return "限指定品类"
    return "全场通用"


def eligible_subtotal(scope: dict[str, Any] | None, lines: Iterable[tuple[str, str, int, int]]) -> int:
    """Fen of the order lines (sku, category, quantity, unit price) the coupon applies to."""
    scope = scope or {}
    skus, categories = set(scope.get("skus") or ()), set(scope.get("categories") or ())
    total = 0
    for sku, category, quantity, price in lines:
        if (not skus and not categories) or sku in skus or category in categories:
            total += quantity * price
    return total


def discount(kind: str, value_fen: int | None, percent: int | None, cap_fen: int | None, eligible_fen: int) -> int:
    """What the coupon takes off ``eligible_fen`` (never more than it)."""
    if CouponKind(kind) == CouponKind.percent_off:
        off = eligible_fen * int(percent or 0) // 100
        return min(off, cap_fen) if cap_fen is not None else off
    return min(int(value_fen or 0), eligible_fen)


def expiry(issued_at: dt.datetime, valid_days: int | None, valid_to: dt.datetime | None, tz: ZoneInfo) -> dt.datetime:
    """When a coupon issued at ``issued_at`` stops: the end of the brand's day ``valid_days`` after
    the day of issue (so "7 天有效" never ends mid-afternoon), else the template's end date."""
    if valid_days is not None:
        last_day = issued_at.astimezone(tz).date() + dt.timedelta(days=valid_days)
        end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
        end = end.astimezone(dt.timezone.utc)
        return min(end, valid_to) if valid_to is not None else end
    assert valid_to is not None, "a template has valid_days or valid_to"
    return valid_to
