"""Head office opens on 总览 (desktop, 1440×900): figures and trend charts, links into the pages
that explain them, and real routing — a typed ``#tasks`` opens that page and the back button
returns to the last one. Screenshot: ``test-artifacts/hq-home/``."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.live import browser_page, inbound, sign_in

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "hq-home"


def test_hq_lands_on_the_overview_and_the_back_button_works(live, browser):
    server, brand = live
    inbound(server.url, brand.customers["陈静"], "在吗")
    with browser_page(browser, viewport={"width": 1440, "height": 900}) as page:
        sign_in(page, f"{server.url}/hq/", "hq")
        page.wait_for_selector(".page-home .tiles")
        page.wait_for_selector(".page-home canvas")
        assert page.inner_text("main h1") == "总览"
        assert "今日业绩" in page.inner_text(".page-home .tiles")
        page.screenshot(path=str(ARTIFACTS / "01-overview.png"), full_page=True)

        page.click(".page-home a.tile[href='#reception']")
        page.wait_for_selector(".page-reception .tiles")
        assert page.url.endswith("#reception")
        page.go_back()
        page.wait_for_selector(".page-home .tiles")
        assert page.url.endswith("#home")

        page.goto(f"{server.url}/hq/#tasks")
        page.wait_for_selector(".page-tasks")
        assert page.inner_text("main h1") == "关怀任务"
