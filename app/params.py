"""Whole numbers and months from query strings, JSON bodies and URL paths, bounded to what the
database holds.

Ids are BIGINT (PostgreSQL) / 8-byte INTEGER (SQLite): 1..2**63-1. A larger number cannot name
any row, and handed to a query it makes the driver raise (a 500), so it is refused up front as
bad input: 422 naming the field. Every view reads its numbers through these helpers; numbers in a
URL path (``<int:customer_id>``) are bounded for the whole app by ``init_app``.
"""
from __future__ import annotations

import re
from typing import Any

from flask import Flask, request

from app.config import brand_timezone_name
from app.errors import Invalid
from app.i18n import t
from assistant.attribution import month_of_time
from models.base import utcnow

MAX_ID = 2**63 - 1          # the largest BIGINT: the top of every id and offset
MAX_BIGINT = MAX_ID
_WHOLE = re.compile(r"[+-]?[0-9]+")  # ASCII digits only (int() would also take "١٢" and "1_000")


def _refuse(name: str, low: int, high: int) -> Invalid:
    return Invalid(t("input.invalid", field=name), {name: t("input.between", low=low, high=high)})


def check_int(name: str, value: Any, *, low: int = 0, high: int = MAX_BIGINT) -> int:
    """``value`` if it is an integer (not a bool) in ``low..high``; else 422 naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(t("input.invalid", field=name), {name: t("input.whole_number")})
    if not low <= value <= high:
        raise _refuse(name, low, high)
    return value


def parse_int(name: str, raw: str, *, low: int = 0, high: int = MAX_BIGINT) -> int:
    """A decimal string (a query parameter, a form field) as a bounded integer."""
    text = raw.strip()
    if not _WHOLE.fullmatch(text):
        raise Invalid(t("input.invalid", field=name), {name: t("input.whole_number")})
    if len(text) > 20:  # far beyond any bound; never hand int() thousands of digits
        raise _refuse(name, low, high)
    return check_int(name, int(text), low=low, high=high)


def query_int(name: str, default: int | None = None, *, low: int = 0, high: int = MAX_BIGINT) -> int | None:
    """``?name=`` as a bounded integer; ``default`` when absent or empty."""
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return default
    return parse_int(name, raw, low=low, high=high)


def query_id(name: str, default: int | None = None) -> int | None:
    """``?name=`` as a row id (1..2**63-1)."""
    return query_int(name, default, low=1, high=MAX_ID)


def valid_period(period: Any) -> bool:
    """A month as ``YYYY-MM`` (commission periods, sales targets)."""
    return (isinstance(period, str) and len(period) == 7 and period[4] == "-" and period[:4].isdigit()
            and period[5:].isdigit() and 1 <= int(period[5:]) <= 12)


def query_period() -> str:
    """``?period=YYYY-MM``, or the current month in the brand's timezone."""
    period = request.args.get("period")
    if period is None:
        return month_of_time(utcnow(), brand_timezone_name())
    if not valid_period(period):
        raise Invalid("invalid period", {"period": "YYYY-MM, e.g. 2026-11"})
    return period


def body_int(data: dict[str, Any], name: str, *, required: bool = True, low: int = 0,
             high: int = MAX_BIGINT) -> int | None:
    """``data[name]`` as a bounded JSON integer; None when absent (and not required)."""
    value = data.get(name)
    if value is None:
        if required:
            raise Invalid(t("input.invalid", field=name), {name: t("error.required")})
        return None
    return check_int(name, value, low=low, high=high)


def body_id(data: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    """``data[name]`` as a row id (a JSON integer 1..2**63-1)."""
    return body_int(data, name, required=required, low=1, high=MAX_ID)


def is_id(value: Any) -> bool:
    """An integer that can be a row id (for validators that collect every field's problem)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def _bound_path_ints(endpoint: str | None, values: dict[str, Any] | None) -> None:
    for name, value in (values or {}).items():
        if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= MAX_ID:
            raise _refuse(name, 0, MAX_ID)


def init_app(app: Flask) -> None:
    # Runs before every view (and before its login check): a path id too large for the
    # database is bad input wherever it appears.
    app.url_value_preprocessor(_bound_path_ints)
