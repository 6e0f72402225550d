"""今日 in headless Chromium: a card with its reasons; 去聊天 records "contacted" and opens the chat."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.web.live import seeded_server
from tests.web.test_console_browser import log_in, phone, shot  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def today_live(tmp_path_factory):
    from models import CustomerScore

    def add(s, brand):
        # 催付 is a service suggestion: it shows even in quiet hours, so this test never depends on the clock.
        s.add(CustomerScore(customer_id=brand.customers["陈静"], propensity=0.62, expected_value_fen=16616,
                            action="payment", reasons=[
                                {"code": "unpaid", "params": {"amount": "268"}, "effect": 1.4},
                                {"code": "cycle_due", "params": {"quantity": 2, "usage_days": 10, "days": 18}, "effect": 0.6}]))

    with seeded_server(tmp_path_factory.mktemp("today"), add) as live:
        yield live


def test_clerk_sees_reasons_and_one_tap_opens_the_chat(today_live, phone):  # noqa: F811
    from models import SuggestionOutcome

    server, brand, database = today_live
    _context, page = phone
    log_in(page, server.url)
    page.click(".tab[data-screen=today]")
    card = f".today-card[data-customer='{brand.customers['陈静']}']"
    page.wait_for_selector(card)
    reasons = page.eval_on_selector_all(f"{card} .reasons li", "els => els.map(e => e.textContent)")
    assert reasons == ["有 ¥268 未付款订单", "2 件×10 天，上次购买 18 天前：快用完了"]
    assert page.inner_text(f"{card} [data-action=payment]") == "催付"
    shot(page, "20-today")
    page.click(f"{card} button.primary")
    page.wait_for_selector(".screen-messages:not([hidden])")
    with database.Session() as s:
        outcome = s.scalar(select(SuggestionOutcome))
    assert (outcome.customer_id, outcome.action) == (brand.customers["陈静"], "contacted")
