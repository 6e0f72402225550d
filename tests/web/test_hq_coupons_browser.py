"""Head office's coupon page in Chromium at 1440×900: a 满减 template typed in yuan with a product
picked by name, a wrong field answered beside it, the template issued to a segment with its counts
and budget shown; then a clerk gifts (送券) from the customer's profile sheet. Screenshots go to
``test-artifacts/coupons/``."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.live import login, seeded_server, sign_in

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "coupons"
VIEWPORT = {"width": 1440, "height": 900}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with seeded_server(tmp_path_factory.mktemp("coupons")) as (srv, brand, _db):
        yield srv, brand


def _page(browser, url, user):
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    sign_in(page, url, user)
    return context, page


def test_head_office_creates_a_coupon_and_issues_it_to_a_segment(server, browser):
    srv, brand = server
    http = login(srv.url, "hq")
    seg = http.post(f"{srv.url}/api/v1/segments", timeout=20, json={
        "name": "王小美的顾客", "filter": {"field": "clerk", "op": "in", "value": [brand.clerk1]}})
    assert seg.status_code == 201, seg.text
    context, page = _page(browser, f"{srv.url}/hq/", "hq")
    try:
        page.click("a[data-page=coupons]")
        form = page.locator("form.coupon-form")
        form.locator("input[name=name]").fill("双12老客回馈")
        form.locator("input[name=value]").fill("20.00")
        form.locator("input[name=threshold]").fill("20.00")  # not above the amount off
        form.locator("input[name=skus]").fill("玻尿酸")
        page.locator(".picker-list li[role=option]").first.dispatch_event("mousedown")
        assert form.locator(".chip").inner_text().startswith("玻尿酸保湿面霜")
        form.locator("button[type=submit]").click()
        error = form.locator("[data-field=threshold] .field-error")
        error.wait_for()
        assert error.inner_text() == "使用门槛必须高于优惠金额"
        page.screenshot(path=str(ARTIFACTS / "hq-coupons-error.png"), full_page=True)
        form.locator("input[name=threshold]").fill("200.00")
        form.locator("input[name=budget_count]").fill("100")
        form.locator("button[type=submit]").click()
        row = page.locator("tr[data-template]").first
        row.wait_for()
        assert "满200减20" in row.inner_text() and "限指定商品" in row.inner_text()
        row.locator("select").select_option(label="王小美的顾客")
        row.locator("button", has_text="发券").click()
        page.locator("tr[data-template] .issue [role=status]", has_text="已发 3 张").wait_for()
        page.click("a[data-page=coupons]")
        row = page.locator("tr[data-template]").first
        row.wait_for()
        cells = row.locator("td").all_inner_texts()
        assert cells[2:6] == ["3", "0", "0", "0.0%"] and cells[6] == "3/100"
        page.screenshot(path=str(ARTIFACTS / "hq-coupons.png"), full_page=True)
        text = page.locator("main").inner_text()
        assert "null" not in text and "T00:" not in text and "coupons." not in text
    finally:
        context.close()
    assert page.errors == [], page.errors


def test_a_clerk_sees_the_customers_coupons_and_gifts_one(server, browser):
    srv, brand = server
    http = login(srv.url, "hq")
    made = http.post(f"{srv.url}/api/v1/coupon-templates", timeout=20, json={
        "name": "到店礼", "kind": "no_threshold", "value": "10.00", "valid_days": 7})
    assert made.status_code == 201, made.text
    assert http.put(f"{srv.url}/api/v1/coupon-gift-budgets", json={"default": 2}, timeout=20).status_code == 200
    context, page = _page(browser, f"{srv.url}/console/", "clerk1")
    try:
        page.wait_for_selector(".screen-messages:not([hidden])")  # signed in, the console drawn
        page.evaluate(f"window.DaogouCore.profileSheet({{api: window.DaogouCore.api, yuan: window.DaogouCore.yuan, "
                      f"shortTime: window.DaogouCore.shortTime, dateTime: window.DaogouCore.dateTime, me: null}}, "
                      f"{brand.customers['刘洋']})")
        box = page.locator(".profile-coupons")
        box.locator("button", has_text="送券").wait_for()
        assert "本月还可送 2 张" in box.inner_text()
        box.locator("select").select_option(label="无门槛减10 · 到店礼")
        box.locator("button", has_text="送券").click()
        box.locator("li.coupon", has_text="无门槛减10").wait_for()
        assert "本月还可送 1 张" in box.inner_text() and "到期" in box.inner_text()
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(ARTIFACTS / "clerk-profile-coupons.png"), full_page=True)
    finally:
        context.close()
    assert page.errors == [], page.errors
