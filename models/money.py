"""Money: integer fen (分) in storage and arithmetic, a yuan decimal string on the wire and on screen.

The one home of the conversions every area needs: ``yuan(26800) == "268.00"`` and
``parse_yuan("268.00") == 26800``. No float ever holds an amount. The ingestion validator keeps its
own fast parser for bulk files (it answers with per-field error codes), and the vectorised twin of
``yuan`` for whole columns is ``assistant.lifecycle.yuan_text``.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, overload

_YUAN = re.compile(r"^-?\d{1,12}(\.\d{1,2})?$")


@overload
def yuan(fen: int) -> str: ...
@overload
def yuan(fen: None) -> None: ...
def yuan(fen: int | None) -> str | None:
    """26800 → "268.00", -500 → "-5.00"; None stays None."""
    if fen is None:
        return None
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def parse_yuan(value: Any, *, negative: bool = True) -> int | None:
    """"268.00" (or 268) → 26800 fen; None when it is not an amount with at most 2 decimals
    (or is negative when ``negative`` is False)."""
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip()
    if not _YUAN.match(text):
        return None
    try:
        fen = int((Decimal(text) * 100).to_integral_exact())
    except InvalidOperation:
        return None
    return None if fen < 0 and not negative else fen
