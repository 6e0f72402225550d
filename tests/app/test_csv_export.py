"""The one CSV writer: cells a spreadsheet would run as formulas are neutralised (OWASP)."""
from __future__ import annotations

import csv
import io

import pytest

from app.csv_export import safe_cell, writer


@pytest.mark.parametrize("text", [
    '=HYPERLINK("http://evil.example","点我")', "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "=1", "-", "+",
])
def test_a_cell_a_spreadsheet_would_run_as_a_formula_gets_a_leading_quote(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value,shown", [
    ("-5.00", "-5.00"), ("+12", "+12"), (-500, "-500"), (3.5, "3.5"), ("王女士", "王女士"),
    ("a=b", "a=b"), ("", ""), (None, ""), (True, "True"), ("2026-11-11T10:00:00+00:00", "2026-11-11T10:00:00+00:00"),
])
def test_plain_numbers_and_text_stay_as_they_are(value, shown):
    assert safe_cell(value) == shown


def test_the_writer_neutralises_every_cell_of_every_row():
    buf = io.StringIO()
    out = writer(buf)
    out.writerow(["name", "amount"])
    out.writerows([["=HYPERLINK(\"http://evil.example\")", "-5.00"], ["@cmd", None]])
    rows = list(csv.reader(io.StringIO(buf.getvalue())))
    assert rows == [["name", "amount"], ["'=HYPERLINK(\"http://evil.example\")", "-5.00"], ["'@cmd", ""]]
