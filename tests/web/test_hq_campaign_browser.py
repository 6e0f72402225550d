"""A campaign as head office runs it in Chromium (1440×900): fill in, 预览 shows the count, the
holdout, the cost and the copy as customers will read it, 确认 sends; a scheduled one shows its time
and can be called off; errors sit beside their fields. Screenshots: ``test-artifacts/hq-campaign/``."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.live import browser_page, login, sign_in

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "hq-campaign"


def test_head_office_previews_confirms_schedules_and_cancels(live, browser):
    server, _brand = live
    http = login(server.url, "hq")
    seg = http.post(f"{server.url}/api/v1/segments", json={
        "name": "全部顾客", "filter": {"field": "paid_orders", "op": ">=", "value": 0}}, timeout=20)
    assert seg.status_code == 201, seg.text
    with browser_page(browser, viewport={"width": 1440, "height": 900}) as page:
        sign_in(page, f"{server.url}/hq/#campaigns", "hq")
        form = page.locator("form.campaign-form")
        form.wait_for()

        # A mistake is explained beside its field, in words.
        form.locator("input[name=name]").fill("双12 会员日")
        form.locator("textarea[name=text]").fill("")
        form.locator("button[type=submit]").click()
        error = form.locator("[data-field='content.text'] .field-error")
        error.wait_for()
        assert "请填写文案" in error.inner_text()

        form.locator("textarea[name=text]").fill("{{ customer_name }}您好，双12 会员日全场9折")
        form.locator("input[name=unit_cost]").fill("0.05")
        form.locator("button[type=submit]").click()
        preview = page.locator(".campaign-preview")
        preview.wait_for()
        summary = preview.locator(".preview-summary").inner_text()
        assert "可触达" in summary and "对照组" in summary and "¥" in summary
        assert "null" not in preview.inner_text()
        samples = preview.locator(".sample .bubble").all_inner_texts()
        assert samples and all("{{" not in s and "双12 会员日全场9折" in s for s in samples)
        page.screenshot(path=str(ARTIFACTS / "01-preview.png"), full_page=True)
        preview.locator("button.confirm").click()
        page.locator("tr[data-campaign] [data-status=sent], tr[data-campaign] [data-status=sending]").first.wait_for()

        # A scheduled one shows its time and can be called off before it starts.
        form = page.locator("form.campaign-form")
        form.locator("input[name=name]").fill("周末提醒")
        form.locator("input[name=scheduled_at]").fill("2026-11-21T10:00")
        form.locator("button[type=submit]").click()
        page.locator(".campaign-preview button.confirm").click()
        row = page.locator("tr[data-campaign]:has-text('周末提醒')")
        row.locator("[data-status=planned]").wait_for()
        assert "定时" in row.inner_text()
        page.screenshot(path=str(ARTIFACTS / "02-scheduled.png"), full_page=True)
        row.locator("button.danger").click()
        page.locator("tr[data-campaign]:has-text('周末提醒') [data-status=cancelled]").wait_for()
        assert page.locator("tr[data-campaign]:has-text('周末提醒') [data-status=cancelled]").inner_text() == "已取消"
