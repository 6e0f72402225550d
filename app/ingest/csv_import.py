"""CSV import: files from POS systems and e-shops, fed to the same actions as the API.

Files are UTF-8 (with or without a BOM) or GBK/GB18030, as Chinese POS exports often are; the
encoding is detected from the bytes unless given. The whole file is checked for encoding before
the first row is written, so a file in the wrong encoding fails at once, naming the line, and
writes nothing. Rows go to the action in batches, each batch one transaction; a row that cannot
be read or checked is reported with its line number and the others still land. Re-importing the
same file changes nothing (the actions upsert by external id).

Columns (header row required, any order; empty cells leave the stored value alone):

- stores: external_id, name, city, province, timezone
- products: sku, name, category, price, usage_days, in_stock, image_url, url, launched_at
- customers: external_id, name, phone, email, gender, birthday, address, city, province,
  member_level, store, clerk, channel
- orders (one row per order): external_id, customer, store, clerk, status, created_at, paid_at,
  amount, items, refund_amount, and optionally shipped_at, delivered_at, completed_at,
  cancelled_at, refunded_at, ref (the personal link it came through) and coupon_code. ``items`` lists the order lines as ``sku:quantity:price`` separated
  by ``;`` — e.g. ``SK-001:2:134.00;SN-017:1:29.90``.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import gc
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from app.i18n import t
from app.ingest import actions, validate

# Each batch is one transaction and one ORDER_RECORDED, whose subscribers (retagging, care,
# commission) recompute every customer the batch touched: a customer whose orders straddle
# several batches is recomputed once per batch, so fewer, larger batches cut that repeated work
# (20,000 rows: a 20,000-order import with subscribers took 3.8 s of CPU instead of 8.6 s).
# 20,000 is also the --batch-size cap (SQLite's bound-variable limit for the IN lists).
BATCH_SIZE = 20000
_CHUNK = 1 << 22
_SAMPLE = 1 << 20


@dataclass(frozen=True)
class Kind:
    action: Callable[..., actions.IngestResult]
    spec: validate.Spec
    key: str
    optional_columns: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(name for name in self.spec if name not in self.optional_columns) + self.optional_columns

    @property
    def required(self) -> set[str]:
        return {name for name, (_c, _p, required, _tz) in self.spec.items() if required}


_LATER_TIMES = ("shipped_at", "delivered_at", "completed_at", "cancelled_at", "refunded_at")
KINDS: dict[str, Kind] = {
    "stores": Kind(actions.upsert_stores, validate.STORE, "external_id"),
    "products": Kind(actions.upsert_products, validate.PRODUCT, "sku"),
    "customers": Kind(actions.upsert_customers, validate.CUSTOMER, "external_id"),
    "orders": Kind(actions.record_orders, validate.ORDER, "external_id", _LATER_TIMES),
}


class CsvFileError(ValueError):
    """The file as a whole cannot be imported (encoding, header); nothing was written."""


@dataclass
class RowProblem:
    line: int
    external_id: str | None
    field: str
    reason: str


@dataclass
class CsvReport:
    encoding: str = ""
    rows: int = 0
    accepted: int = 0
    created: int = 0
    updated: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def rejected_rows(self) -> int:
        return len({p.line for p in self.problems})


# Encoding -----------------------------------------------------------------------------------

def detect_encoding(path: str) -> str:
    """utf-8-sig when there is a BOM, utf-8 when the bytes decode as such, else GB18030 (⊃ GBK)."""
    with open(path, "rb") as f:
        head = f.read(_SAMPLE)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError as exc:
        # Chinese text that decoded as UTF-8 before the bad byte means a UTF-8 file with a
        # damaged line (reported by check_encoding), not a GBK file.
        return "utf-8" if not head[:exc.start].isascii() else "gb18030"


def encoding_label(encoding: str) -> str:
    return {"gb18030": "GBK/GB18030", "utf-8-sig": "UTF-8", "utf-8": "UTF-8"}.get(encoding.lower(), encoding)


def check_encoding(path: str, encoding: str) -> None:
    """Decode the whole file once; raise ``CsvFileError`` naming the first bad line."""
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
    except LookupError:
        raise CsvFileError(f"unknown encoding {encoding}") from None
    lines_before = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(_CHUNK)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                line = lines_before + chunk[:max(exc.start, 0)].count(b"\n") + 1
                raise CsvFileError(t("ingest.csv_encoding", line=line, encoding=encoding_label(encoding))) from None
            if not chunk:
                return
            lines_before += chunk.count(b"\n")


# Rows ---------------------------------------------------------------------------------------

def _decoded_lines(f, encoding: str, progress: Callable[[int], None] | None) -> Iterator[str]:
    first = True
    for raw in f:
        if progress is not None:
            progress(len(raw))
        if first:
            first = False
            yield raw.decode(encoding)
        else:
            # The BOM can only lead the first line.
            yield raw.decode("utf-8" if encoding == "utf-8-sig" else encoding)


def parse_items(cell: str) -> list[dict[str, str]]:
    """``sku:qty:price;sku:qty:price`` → item objects (values checked later by validate)."""
    items = []
    for part in cell.split(";"):
        part = part.strip()
        if not part:
            continue
        pieces = part.rsplit(":", 2)
        if len(pieces) != 3:
            raise ValueError(part)
        items.append({"sku": pieces[0], "quantity": pieces[1], "price": pieces[2]})
    return items


def read_objects(path: str, kind: str, encoding: str,
                 progress: Callable[[int], None] | None = None) -> Iterator[tuple[int, dict[str, Any] | RowProblem]]:
    """Yield (line, object) for each row, or (line, RowProblem) for a row that cannot be read."""
    spec = KINDS[kind]
    with open(path, "rb") as f:
        reader = csv.reader(_decoded_lines(f, encoding, progress), strict=True)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise CsvFileError(t("ingest.csv_empty")) from None
        except csv.Error as exc:
            raise CsvFileError(f"line 1: {t('ingest.csv_broken_row', reason=exc)}") from None
        missing = sorted(spec.required - set(header))
        if missing:
            raise CsvFileError(t("ingest.csv_missing_columns", columns=", ".join(missing)))
        unknown = sorted(set(header) - set(spec.columns))
        if unknown:
            raise CsvFileError(t("ingest.csv_unknown_columns", columns=", ".join(unknown)))
        width = len(header)
        has_items = "items" in header
        line = reader.line_num
        while True:
            start = line + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                line = reader.line_num
                yield start, RowProblem(start, None, "", t("ingest.csv_broken_row", reason=exc))
                continue
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != width:
                yield start, RowProblem(start, row[0] if row else None, "",
                                        t("ingest.csv_columns", found=len(row), expected=width))
                continue
            obj = {name: cell for name, cell in zip(header, row) if cell != ""}
            if has_items and "items" in obj:
                try:
                    obj["items"] = parse_items(obj["items"])
                except ValueError:
                    yield start, RowProblem(start, obj.get(spec.key), "items", t("ingest.csv_item_format"))
                    continue
            yield start, obj


def import_csv(database, kind: str, path: str, encoding: str | None = None, batch_size: int = BATCH_SIZE,
               progress: Callable[[int], None] | None = None, tz: dt.tzinfo | None = None) -> CsvReport:
    """Import a CSV file of ``kind`` in batches, one transaction each; report every bad row."""
    encoding = encoding or detect_encoding(path)
    check_encoding(path, encoding)
    report = CsvReport(encoding=encoding_label(encoding))
    action = KINDS[kind].action
    lines: list[int] = []
    objects: list[dict[str, Any]] = []

    def flush() -> None:
        with database.transaction() as s:
            result = action(s, objects, tz=tz)
        report.accepted += result.accepted
        report.created += result.created
        report.updated += result.updated
        for rejection in result.rejected:
            for name, reason in rejection.fields.items():
                report.problems.append(RowProblem(lines[rejection.index], rejection.external_id, name, reason))
        lines.clear()
        objects.clear()

    # An import allocates millions of short-lived objects and no reference cycles worth
    # chasing; left on, the cyclic collector keeps re-walking the whole app's object graph.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for line, obj in read_objects(path, kind, encoding, progress):
            report.rows += 1
            if isinstance(obj, RowProblem):
                report.problems.append(obj)
                continue
            lines.append(line)
            objects.append(obj)
            if len(objects) >= batch_size:
                flush()
        if objects:
            flush()
    finally:
        if gc_was_enabled:
            gc.enable()
    report.problems.sort(key=lambda p: p.line)
    return report


def file_size(path: str) -> int:
    return os.path.getsize(path)
