"""Monthly targets in real headless Chromium: head office sets a clerk's and a store's target on
the 业绩目标 page (a bad amount is named in its row), sees attainment across stores as a chart; the
store manager sees their store only; the clerk's 业绩 screen at 390×844 shows achieved / target,
the gap, the days left and the pace needed per day, and fits the phone."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.live import PHONE, browser_page, login, sign_in
from tests.web.test_earnings_browser import _brand_with_rules, _db_url, _post_order
from tests.web.test_console_layout_browser import CHECK, RULES

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DESKTOP = {"viewport": {"width": 1440, "height": 900}}


def _open_targets(page, url: str, username: str) -> None:
    sign_in(page, f"{url}/hq/", username)
    page.click("nav a[data-page=targets]")
    page.wait_for_selector("table.targets tr.target-clerk")


def _row(page, name: str, kind: str = "clerk"):
    return page.locator(f"table.targets tr.target-{kind}:has-text('{name}')")


def test_head_office_sets_targets_and_sees_attainment_by_store(live, browser):
    server, _brand = live
    with browser_page(browser, **DESKTOP) as page:
        _open_targets(page, server.url, "hq")
        _row(page, "王小美").locator("input[name=amount]").fill("¥5,000")
        _row(page, "静安嘉里店", "store").locator("input[name=amount]").fill("20000")
        _row(page, "李安").locator("input[name=amount]").fill("三千")
        page.click(".targets-form button[type=submit]")
        reason = _row(page, "李安").locator(".field-error:not([hidden])")
        reason.wait_for()
        assert "5000.00" in reason.inner_text()  # the API's sentence, beside the amount it is about
        _row(page, "李安").locator("input[name=amount]").fill("3000")
        page.click(".targets-form button[type=submit]")
        page.wait_for_selector("table.targets tr:has-text('王小美') .target-history li")
        assert "¥5,000.00" in _row(page, "王小美").locator(".target-history").inner_text()
        assert "总部运营" in _row(page, "王小美").inner_text()
        page.wait_for_selector(".target-chart canvas")
        page.wait_for_timeout(500)  # the chart's entry animation, for the screenshot
        page.screenshot(path=str(ARTIFACTS / "hq-targets-set.png"), full_page=True)

    http = login(server.url, "hq")
    body = http.get(f"{server.url}/api/v1/targets", timeout=10).json()
    amounts = {t["name"]: t["amount"] for t in body["targets"]}
    assert (amounts["王小美"], amounts["李安"], amounts["静安嘉里店"]) == ("5000.00", "3000.00", "20000.00")

    with browser_page(browser, **DESKTOP) as page:
        _open_targets(page, server.url, "manager1")
        names = page.eval_on_selector_all("table.targets tbody tr strong", "els => els.map((e) => e.textContent)")
        assert set(names) == {"静安嘉里店", "王小美", "李安"}
        assert page.locator(".target-chart-panel").is_hidden()  # the chart across stores is head office's


def test_clerk_sees_achieved_target_gap_and_pace_on_the_phone(live, browser):
    server, brand = live
    hq = login(server.url, "hq")
    hq.put(f"{server.url}/api/v1/targets", timeout=10, json={
        "period": "2026-11", "targets": [{"clerk": "clerk1", "amount": "5000.00"}]}).raise_for_status()
    token, customer = _brand_with_rules(_db_url(server), brand)
    _post_order(server.url, token, customer, "TARGET-1", 1)  # ¥256.00 of 陈静's, clerk1's follower
    progress = login(server.url, "clerk1").get(f"{server.url}/api/v1/commission", timeout=10).json()
    assert (progress["target"], progress["achieved"], progress["gap"]) == ("5000.00", "256.00", "4744.00")

    with browser_page(browser, **PHONE) as page:
        sign_in(page, f"{server.url}/console/", "clerk1")
        page.wait_for_selector(".topbar .conn.on")
        page.click(".tab[data-screen=earnings]")
        page.wait_for_selector(".month-target .target-gap")
        card = page.inner_text(".month-target")
        assert "¥256.00" in card and "¥5,000.00" in card and "还差 ¥4,744.00" in card
        assert f"还剩 {progress['days_left']} 天，每天需完成 ¥{progress['pace_per_day']}" in card
        assert page.evaluate(CHECK, RULES) == []  # fits 390 px: no sideways scroll, readable text
        page.screenshot(path=str(ARTIFACTS / "console" / "earnings-target.png"))

        page.click(".topbar .lang")
        page.wait_for_selector(".month-target :text('To go')")
        assert "days left" in page.inner_text(".month-target")
        page.screenshot(path=str(ARTIFACTS / "console" / "earnings-target-en.png"))
        page.click(".topbar .lang")  # the choice is kept per clerk: back to Chinese
        page.wait_for_selector(".month-target :text('还差')")
