"""The head-office drafts page in headless Chromium against a real server process.

Screenshots go to ``test-artifacts/drafts/``.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.live import browser_page, login, seeded_server, sign_in

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "drafts"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with seeded_server(tmp_path_factory.mktemp("live-drafts")) as (server, brand, _database):
        yield server, brand


def test_head_office_sees_results_and_edits_templates(live, browser):
    server, brand = live
    clerk = login(server.url, "clerk1")
    customer = brand.customers["陈静"]
    drafts = [clerk.post(f"{server.url}/api/v1/drafts", json={"customer_id": customer, "scenario": "birthday"},
                         timeout=10).json() for _ in range(2)]
    assert all(d["source"] == "template" for d in drafts)
    clerk.post(f"{server.url}/api/v1/drafts/{drafts[0]['draft_id']}/outcome", json={"outcome": "sent_as_is"}, timeout=10)

    with browser_page(browser, viewport={"width": 1280, "height": 900}) as page:
        sign_in(page, f"{server.url}/hq/", "hq")
        page.click(".sidenav a[data-page=drafts]")
        page.wait_for_selector("[data-part=stats] table.grid tbody tr")
        variants = page.eval_on_selector_all("[data-part=stats] tbody tr", "rows => rows.map(r => r.dataset.variant)")
        assert sorted(variants) == sorted(d["template_variant"] for d in drafts)
        assert page.locator("[data-part=stats] canvas").count() == 1
        assert page.locator("[data-part=templates] [data-scenario]").count() == 8
        assert "null" not in page.text_content("[data-part=stats]")
        page.screenshot(path=str(ARTIFACTS / "01-hq-drafts.png"), full_page=True)

        page.locator("[data-scenario=birthday] [data-variant] button.link").first.click()  # 预览
        page.wait_for_selector("[data-scenario=birthday] .preview:not([hidden])")
        assert "王女士" in page.text_content("[data-scenario=birthday] .preview")
        first = page.locator("[data-scenario=birthday] textarea").first
        first.fill("{{ customer.nmae }}生日快乐")
        page.click("[data-part=templates] > button.primary")
        # The reason shows beside the variant that has it, never as the API's path.
        beside = page.locator("[data-scenario=birthday] [data-variant] > .field-error").first
        beside.wait_for()
        assert "nmae" in beside.inner_text() and "scenarios." not in page.inner_text("[data-part=templates]")
        first.fill("{{ customer.salutation }}，生日快乐！{{ clerk.name }}祝您天天开心。")
        page.click("[data-part=templates] > button.primary")
        page.wait_for_selector("[data-scenario=birthday] .pill.on")
        page.screenshot(path=str(ARTIFACTS / "02-hq-template-saved.png"))
    hq = login(server.url, "hq")
    doc = hq.get(f"{server.url}/api/v1/templates", timeout=10).json()
    assert doc["scenarios"]["birthday"]["customised"]
    assert doc["scenarios"]["birthday"]["variants"][0]["text"].endswith("祝您天天开心。")
