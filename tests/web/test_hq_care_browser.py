"""Head office's task and campaign lists in Chromium at 1440×900: statuses read in the operator's
words (进行中, 待发送…), never the stored codes (open, planned)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.live import login, sign_in

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "hq"


def test_head_office_reads_task_and_campaign_statuses_in_chinese(live, browser):
    server, _brand = live
    http = login(server.url, "hq")
    seg = http.post(f"{server.url}/api/v1/segments", json={
        "name": "全部顾客", "filter": {"field": "paid_orders", "op": ">=", "value": 0}}, timeout=20)
    assert seg.status_code == 201, seg.text
    segment_id = seg.json()["id"]
    task = http.post(f"{server.url}/api/v1/tasks", json={
        "title": "老客回访", "segment_id": segment_id, "scenario": "节日", "template": "{{ customer_name }}您好",
        "fallback": "leave", "deadline": "2099-01-01T10:00:00"}, timeout=20)
    assert task.status_code == 201, task.text
    campaign = http.post(f"{server.url}/api/v1/campaigns", json={
        "name": "双12 会员日", "segment_id": segment_id, "channel": "loopback", "holdout_pct": 10,
        "content": {"text": "{{ customer_name }}，双12会员日全场9折"}}, timeout=20)
    assert campaign.status_code == 201, campaign.text

    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(15_000)
    try:
        sign_in(page, f"{server.url}/hq/", "hq")
        page.click("a[data-page=tasks]")
        pill = page.locator("tr[data-task] [data-status=open]")
        pill.wait_for()
        assert pill.inner_text() == "进行中"
        # The default deadline is two days from business time, in the brand's timezone.
        assert page.input_value("input[name=deadline]").startswith("2026-11-20T")
        page.screenshot(path=str(ARTIFACTS / "hq-tasks.png"), full_page=True)
        page.click("a[data-page=campaigns]")
        pill = page.locator("[data-status=planned]")
        pill.wait_for()
        assert pill.inner_text() == "待发送"
        page.screenshot(path=str(ARTIFACTS / "hq-campaigns.png"), full_page=True)
    finally:
        context.close()
    assert errors == [], errors
