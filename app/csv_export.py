"""CSV files people open in a spreadsheet: every export writes through here.

A cell a spreadsheet would read as a formula (``=HYPERLINK(...)``, ``+1+cmd|...``, ``@SUM(...)``)
gets a leading single quote, per OWASP's CSV injection guidance, because names, reasons and ids
come from customers, integrators and staff. Plain numbers such as ``-5.00`` stay as they are: a
number is never a formula, and refunds and adjustments must still add up in the sheet.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import IO, Any

from flask import Response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def safe_cell(value: Any) -> str:
    """The cell's text, with a leading ``'`` when a spreadsheet would run it as a formula."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


class SafeWriter:
    """``csv.writer`` whose every cell goes through ``safe_cell``."""

    def __init__(self, stream: IO[str], **fmtparams: Any) -> None:
        self._writer = csv.writer(stream, **fmtparams)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(stream: IO[str], **fmtparams: Any) -> SafeWriter:
    return SafeWriter(stream, **fmtparams)


def download(filename: str, header: Sequence[str], rows: Iterable[Iterable[Any]], *, report: str,
             store_id: int | None = None) -> Response:
    """A CSV attachment; the BOM makes spreadsheet programs open the Chinese text as UTF-8.

    Every download is in the audit trail: who took which ``report`` (``campaign``, ``statement``),
    how many rows, and of which store."""
    from app import audit, db
    from app.auth import current_staff

    buf = io.StringIO()
    out = writer(buf)
    out.writerow(header)
    count = 0
    for row in rows:
        out.writerow(row)
        count += 1
    with db.transaction() as s:
        audit.record(s, "export", current_staff(), subject=("file", filename), store_id=store_id,
                     report=report, rows=count)
    return Response("\ufeff" + buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
