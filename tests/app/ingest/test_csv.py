"""flask import: encodings, broken rows with their line numbers, idempotent re-import."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from app.ingest import csv_import
from models import Customer, Order, OrderItem, Product

CUSTOMERS = (
    "external_id,name,phone,gender,birthday,address,city,store,clerk\n"
    "C10,赵六,13900000001,女,1990-01-02,北京大学燕园,北京,S1,E100\n"
    "C11,钱七,13900000002,男,,上海市徐汇区,上海,S2,\n"
)
ORDERS = (
    "external_id,customer,store,clerk,status,created_at,paid_at,amount,items,refund_amount\n"
    "O10,C1,S1,E100,paid,2026-11-11 09:00,2026-11-11 09:01,565.90,SK-001:2:268.00;SN-017:1:29.90,\n"
    "O11,C2,S1,,completed,2026-11-11 10:00,2026-11-11 10:01,29.90,SN-017:1:29.90,29.90\n"
    "O12,C2,S1,,paid,2026-11-11 10:00,2026-11-11 10:01,-3.00,SN-017:1:29.90,\n"
    "O13,C2,S1,,paid,2026-11-11 10:00\n"
    "O14,C404,S1,,paid,2026-11-11 10:00,2026-11-11 10:01,29.90,SN-017:1:29.90,\n"
    "O15,C2,S1,,paid,2026-11-11 10:00,2026-11-11 10:01,29.90,SN-017;1,\n"
)


@pytest.fixture
def app(app_factory):
    """The CLI speaks the brand's default locale; these tests read its English output."""
    return app_factory(DEFAULT_LOCALE="en")


def _write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def _import(app, *args):
    return app.test_cli_runner().invoke(args=["import", *args])


@pytest.mark.parametrize("encoding, bom", [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("gbk", b"")])
def test_customers_import_in_utf8_bom_and_gbk(app, db, brand, tmp_path, encoding, bom):
    path = tmp_path / "customers.csv"
    path.write_bytes(bom + CUSTOMERS.encode(encoding))
    result = _import(app, "customers", str(path))
    assert result.exit_code == 0, result.output
    assert "2 accepted (2 new, 0 changed), 0 rejected" in result.output
    with db.Session() as s:
        c = s.scalar(select(Customer).where(Customer.external_id == "C10"))
        assert (c.name, c.address, c.gender) == ("赵六", "北京大学燕园", "F")


def test_orders_import_reports_every_bad_row_by_line_and_lands_the_rest(app, db, brand, tmp_path):
    path = _write(tmp_path, "orders.csv", ORDERS)
    result = _import(app, "orders", path)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "line 4 [O12] amount:" in out
    assert "line 5 [O13] row:" in out and "10" in out          # 6 columns where the header has 10
    assert "line 6 [O14] customer:" in out
    assert "line 7 [O15] items:" in out
    assert "6 rows (UTF-8), 2 accepted (2 new, 0 changed), 4 rejected" in out
    with db.Session() as s:
        assert sorted(s.scalars(select(Order.external_id))) == ["O10", "O11"]
        assert s.scalar(select(Order.status).where(Order.external_id == "O11")) == "refunded"


def test_reimporting_the_same_file_changes_nothing(app, db, brand, tmp_path):
    path = _write(tmp_path, "orders.csv", ORDERS, "gbk")
    _import(app, "orders", path)
    with db.Session() as s:
        before = s.execute(select(Order.id, Order.updated_at, Order.status).order_by(Order.id)).all()
    result = _import(app, "orders", path)
    assert "2 accepted (0 new, 0 changed), 4 rejected" in result.output
    with db.Session() as s:
        assert s.execute(select(Order.id, Order.updated_at, Order.status).order_by(Order.id)).all() == before
        assert s.scalar(select(func.count()).select_from(OrderItem)) == 3


def test_a_file_in_the_wrong_encoding_fails_naming_the_line_and_writes_nothing(app, db, brand, tmp_path):
    text = CUSTOMERS + "".join(f"C{20 + i},顾客{i},,,,,,,\n" for i in range(5))
    path = _write(tmp_path, "customers.csv", text, "gbk")
    result = _import(app, "customers", path, "--encoding", "utf-8")
    assert result.exit_code != 0
    assert "line 2" in result.output and "UTF-8" in result.output
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(Customer)) == 2  # only the brand's two


def test_a_damaged_line_in_a_utf8_file_is_named(app, brand, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_bytes(CUSTOMERS.encode() + "C12,孙八,,,,,,,\n".encode()[:-6] + b"\xff\xfe,,,,,,,\n")
    assert csv_import.detect_encoding(str(path)) == "utf-8"
    result = _import(app, "customers", str(path))
    assert result.exit_code != 0 and "line 4" in result.output


def test_missing_and_unknown_columns_are_refused_before_anything_is_written(app, brand, tmp_path):
    path = _write(tmp_path, "products.csv", "sku,name,prize\nX1,面霜,10.00\n")
    result = _import(app, "products", path)
    assert result.exit_code != 0
    assert "category" in result.output and "price" in result.output


def test_products_import_with_a_report_file(app, db, brand, tmp_path):
    path = _write(tmp_path, "products.csv",
                  "sku,name,category,price,usage_days,in_stock\n"
                  "P1,面霜,skincare,199.00,60,true\n"
                  "P2,\"口红, 正红\",makeup,abc,,no\n"
                  "P3,\"未闭合,makeup,1.00,,yes\n")
    report = tmp_path / "rejected.csv"
    result = _import(app, "products", path, "--report", str(report), "--batch-size", "1")
    assert result.exit_code == 0, result.output
    rows = report.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "line,external_id,field,reason"
    assert rows[1].startswith("3,P2,price,")
    assert rows[2].startswith("4,")
    with db.Session() as s:
        assert s.scalar(select(Product.usage_days).where(Product.sku == "P1")) == 60


def test_gbk_detection_from_bytes(tmp_path):
    assert csv_import.detect_encoding(_write(tmp_path, "a.csv", CUSTOMERS, "gbk")) == "gb18030"
    assert csv_import.detect_encoding(_write(tmp_path, "b.csv", CUSTOMERS)) == "utf-8"


def test_the_rejected_rows_report_neutralises_a_value_that_is_a_formula(app, db, brand, tmp_path):
    path = _write(tmp_path, "products.csv",
                  "sku,name,category,price,usage_days,in_stock\n"
                  "\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",面霜,skincare,abc,60,true\n")
    report = tmp_path / "rejected.csv"
    result = _import(app, "products", path, "--report", str(report))
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(report.read_text(encoding="utf-8"))))
    assert rows[1][:3] == ["2", "'=HYPERLINK(\"http://evil.example\",\"x\")", "price"]
