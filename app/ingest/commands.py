"""``flask import stores|products|customers|orders FILE.csv``."""
from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import with_appcontext

from app import csv_export, db
from app.i18n import t
from app.ingest import csv_import


def init_app(app: Flask) -> None:
    app.cli.add_command(import_command)


@click.command("import", help=f"""Import KIND (stores, products, customers or orders) from a CSV file.

\b
The file needs a header row; columns, in any order:
  stores     external_id, name, city, province, timezone
  products   sku, name, category, price, usage_days, in_stock, image_url, url, launched_at
  customers  external_id, name, phone, email, gender, birthday, address, city, province,
             member_level, store, clerk, channel
  orders     external_id, customer, store, clerk, status, created_at, paid_at, amount,
             items, refund_amount [, shipped_at, delivered_at, completed_at, cancelled_at,
             refunded_at] — one row per order; items as sku:quantity:price;sku:quantity:price

Money is in yuan ("268.00"); times without an offset are in BRAND_TIMEZONE. Empty cells
leave the stored value alone. UTF-8 (with or without BOM) and GBK are detected. Rows are
written in batches of {csv_import.BATCH_SIZE}; every rejected row is reported with its line,
field and reason, and the rest still land. Importing the same file again changes nothing.""")
@click.argument("kind", type=click.Choice(sorted(csv_import.KINDS)))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--encoding", help="Force the file encoding (utf-8, gbk, gb18030…) instead of detecting it.")
# Upper bound: each batch looks its external ids up with one IN (...) per kind, and older SQLite
# builds allow 32,766 bound variables a statement.
@click.option("--batch-size", type=click.IntRange(1, 20000), default=csv_import.BATCH_SIZE, show_default=True)
@click.option("--report", "report_path", type=click.Path(dir_okay=False, writable=True),
              help="Also write the rejected rows to this CSV file (line, external_id, field, reason).")
@with_appcontext
def import_command(kind: str, path: str, encoding: str | None, batch_size: int, report_path: str | None) -> None:
    database = db.get_db()
    try:
        with click.progressbar(length=csv_import.file_size(path), label=f"{kind} ← {path}",
                               file=sys.stderr) as bar:
            report = csv_import.import_csv(database, kind, path, encoding=encoding, batch_size=batch_size,
                                           progress=bar.update)
    except csv_import.CsvFileError as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    for p in report.problems:
        label = f" [{p.external_id}]" if p.external_id else ""
        click.echo(t("ingest.cli_problem", line=p.line, label=label, field=p.field or t("ingest.cli_row"),
                     reason=p.reason))
    if report_path:
        with open(report_path, "w", encoding="utf-8", newline="") as f:
            writer = csv_export.writer(f)
            writer.writerow(["line", "external_id", "field", "reason"])
            writer.writerows([p.line, p.external_id or "", p.field, p.reason] for p in report.problems)
    click.echo(t("ingest.cli_summary", kind=kind, rows=report.rows, encoding=report.encoding,
                 accepted=report.accepted, created=report.created, updated=report.updated,
                 rejected=report.rejected_rows))
