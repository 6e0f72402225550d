"""Product page and image addresses reach clerks' and customers' screens as links: only http(s)
is ingested (penetration test, issue 22, finding 9)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Product

SCRIPTS = ["java\tscript:alert(1)", "javascript:alert(1)", " JavaScript:alert(1)", "java\nscript:alert(1)",
           "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)", "//evil.example/x",
           "/\\evil.example/x", "https://shop.example/\x00x", "shop.example/p/1"]


def product(**kw):
    return {"sku": "AP-900", "name": "空气炸锅", "category": "appliances", "price": "399.00", **kw}


@pytest.mark.parametrize("field", ["url", "image_url"])
@pytest.mark.parametrize("value", SCRIPTS)
def test_a_product_address_that_is_not_http_is_rejected_naming_the_field(client, bearer, db, brand, field, value):
    resp = client.post("/api/v1/products", headers=bearer, json=[product(**{field: value})])
    [rejected] = resp.get_json()["rejected"]
    assert field in rejected["fields"]
    with db.Session() as s:
        assert s.scalar(select(Product).where(Product.sku == "AP-900")) is None


def test_http_and_https_product_addresses_are_kept(client, bearer, db, brand):
    resp = client.post("/api/v1/products", headers=bearer, json=[
        product(url="https://shop.example/p/AP-900?from=导购", image_url="http://img.example/ap.jpg")])
    assert resp.get_json()["accepted"] == 1
    with db.Session() as s:
        row = s.scalar(select(Product).where(Product.sku == "AP-900"))
        assert (row.url, row.image_url) == ("https://shop.example/p/AP-900?from=导购", "http://img.example/ap.jpg")


@pytest.mark.parametrize("value", SCRIPTS + ["https:", "http://"])
def test_the_shared_check_refuses_what_a_browser_would_run(app, value):
    from app.urls import web_url_problem

    with app.test_request_context():
        assert web_url_problem(value) is not None
        assert web_url_problem(value, site_path=True) is not None


def test_the_shared_check_takes_site_paths_only_when_asked(app):
    from app.urls import web_url_problem

    with app.test_request_context():
        assert web_url_problem("/uploads/a.jpg") is not None
        assert web_url_problem("/uploads/a.jpg", site_path=True) is None
        assert web_url_problem("https://img.example/a.jpg") is None
