"""The follower book screen (clerk, 390×844) and the segment builder (head office) in Chromium."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from models.base import utcnow
from playwright.sync_api import expect

from tests import factories as f
from tests.web.live import LiveServer, migrate_and_seed

pytestmark = pytest.mark.browser
UTC = dt.timezone.utc
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "followers"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from app.db import Database
    from assistant.tags import retag_all
    from models import Staff

    folder = tmp_path_factory.mktemp("followers-live")
    url = f"sqlite:///{folder / 'daogou.sqlite3'}"
    brand = migrate_and_seed(url)
    database = Database(url)
    with database.transaction() as s:
        # Customers of our own, so other areas' seed data (orders, addresses) cannot move the answers.
        clerk1 = s.get(Staff, brand.clerk1)
        p = f.product(s, usage_days=10, price_fen=8800)
        sun = f.customer(s, name="孙悦", phone="13912345678", address="上海市徐汇区复旦大学")
        qian = f.customer(s, name="钱多多", phone="13912340000")
        for cust in (sun, qian):
            f.follow(s, cust, clerk1, channel="loopback")
        for days in (40, 25):
            f.order(s, sun, [(p, 2)], paid_at=utcnow() - dt.timedelta(days=days))
        f.order(s, qian, [(p, 3)], status="created")
        brand.customers.update({"孙悦": sun.id, "钱多多": qian.id})
        retag_all(s)
    database.dispose()
    server = LiveServer(url, log_path=folder / "server.log")
    try:
        yield server, brand
    finally:
        server.stop()



def page_for(browser, **context):
    ctx = browser.new_context(locale="zh-CN", **context)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(15_000)
    return ctx, page, errors


def log_in(page, url: str, username: str) -> None:
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.click("form.login button[type=submit]")


def test_clerk_browses_filters_and_searches_followers(live, browser):
    server, brand = live
    ctx, page, errors = page_for(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(f"{server.url}/console/#customers")
    log_in(page, server.url, "clerk1")
    page.click(".tab[data-screen=customers]")
    rows = page.locator(".followers li[data-customer]")
    dormant = page.locator(f"li[data-customer='{brand.customers['孙悦']}']")
    dormant.wait_for()
    page.screenshot(path=str(ARTIFACTS / "customers.png"))
    assert page.locator(f"li[data-customer='{brand.other_customer}']").count() == 0  # clerk2's follower
    assert "休眠流失" in dormant.inner_text() and "2 件 × 10 天，上次购买 25 天前" in dormant.inner_text()
    page.click("[data-stage=prospect]")
    expect(dormant).to_have_count(0)
    expect(page.locator(f"li[data-customer='{brand.customers['钱多多']}']")).to_contain_text("未付款订单 ¥264.00")
    page.click("[data-stage=all]")
    page.fill(".conv-search input", "5678")  # phone tail
    expect(rows).to_have_count(1)
    expect(dormant).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "customers-search.png"))
    # "＋标签": the clerk's own tag shows in the row at once (it used to report success and vanish)
    dormant.locator("button.add-tag").click()
    dormant.locator(".add-tag-form input").fill("喜欢玫瑰香")
    dormant.locator(".add-tag-form button[type=submit]").click()
    expect(dormant.locator(".tag-chip.manual")).to_have_text("喜欢玫瑰香")
    dormant.locator(".follower-main").click()
    page.wait_for_selector(".sheet .tag-reason")
    assert "收货地址含「大学」" in page.inner_text(".sheet")
    assert errors == [], errors
    ctx.close()


def test_head_office_builds_a_segment_with_a_live_count(live, browser):
    server, _brand = live
    ctx, page, errors = page_for(browser, viewport={"width": 1280, "height": 900})
    page.goto(f"{server.url}/hq/#segments")
    log_in(page, server.url, "hq")
    page.wait_for_selector("[data-preset=campus]")
    page.click("[data-preset=campus]")
    expect(page.locator(".segment-sample")).to_contain_text("孙悦")
    page.click("[data-preset=unpaid]")
    expect(page.locator(".segment-sample")).to_contain_text("钱多多")
    expect(page.locator(".segment-count")).to_contain_text("位客户")
    # A backwards date range is named by its path beside the row.
    page.click("[data-preset=first_1111]")
    page.locator(".segment-row input[type=date]").nth(1).fill("2026-11-01")
    page.wait_for_selector("[data-error-for='0']:has-text('all[0].value')")
    # Fields, operators and choices come from the server's table, in the operator's words.
    page.click("button:has-text('＋条件')")
    expect(page.locator(".segment-row").last.locator(".segment-choices")).to_contain_text("潜客")
    page.locator(".segment-row").last.locator(".segment-choices label:has-text('老客') input").check()
    page.screenshot(path=str(ARTIFACTS / "segments-stages.png"), full_page=True)
    page.locator(".segment-row").last.locator("select[aria-label=field]").select_option("channel")
    expect(page.locator(".segment-row").last.locator("select[aria-label=op]")).to_contain_text("可触达")
    expect(page.locator(".segment-row").last.locator("select").nth(2)).to_contain_text("企业微信")
    page.screenshot(path=str(ARTIFACTS / "segments-choices.png"), full_page=True)
    page.click("[data-preset=campus]")
    expect(page.locator(".segment-sample")).to_contain_text("孙悦")
    page.screenshot(path=str(ARTIFACTS / "segments.png"), full_page=True)
    page.click("form.form-row button[type=submit]:has-text('保存分群')")
    page.wait_for_selector("tr[data-segment]")
    assert errors == [], errors
    ctx.close()
