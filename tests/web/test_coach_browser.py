"""导购助理 in headless Chromium on a phone: ask, read the answer and its customer cards, tap 发消息
and send the draft the assistant wrote."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.web.live import seeded_server
from tests.web.test_console_browser import log_in, phone, shot  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def coach_live(tmp_path_factory):
    from models import CustomerScore

    def add(s, brand):
        s.add(CustomerScore(customer_id=brand.customers["陈静"], propensity=0.62, expected_value_fen=16616,
                            action="replenish", reasons=[{"code": "spend_rising", "params": {"amount": "804.00"}, "effect": 0.6}]))
        s.add(CustomerScore(customer_id=brand.customers["刘洋"], propensity=0.3, expected_value_fen=5200, action=None,
                            reasons=[]))

    with seeded_server(tmp_path_factory.mktemp("coach"), add) as live:
        yield live


def _turns(page) -> list[str]:
    return page.eval_on_selector_all(".coach-turn.coach:not(.pending) .text", "els => els.map(e => e.textContent)")


def _wait_turns(page, n: int) -> None:
    for _ in range(100):
        if len(_turns(page)) >= n:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"no answer: {_turns(page)}")


def test_ask_see_the_customers_and_send_the_drafted_message(coach_live, phone):  # noqa: F811
    from models import Direction, Message

    server, brand, database = coach_live
    _context, page = phone
    log_in(page, server.url)
    page.click(".topbar .coach-open")
    page.click(".coach-chips .chip >> text=我今天该联系谁？")
    _wait_turns(page, 1)
    cards = page.eval_on_selector_all(".coach-customer", "els => els.map(e => Number(e.dataset.customer))")
    assert cards == [brand.customers["陈静"], brand.customers["刘洋"]]
    assert "218.16" in _turns(page)[0]  # 166.16 + 52.00, from the two scores
    shot(page, "60-coach-today")

    page.fill(".coach-ask input", "帮我给陈静写一条补货的消息")
    page.click(".coach-ask button[type=submit]")
    _wait_turns(page, 2)
    draft = page.eval_on_selector(".coach-turn.coach:last-child .coach-customer", "e => e.dataset.customer")
    assert int(draft) == brand.customers["陈静"]
    shot(page, "61-coach-draft")
    page.click(".coach-turn.coach:last-child .send-to")
    page.wait_for_selector(".chat textarea")
    text = page.input_value(".chat textarea")
    assert text and text in _turns(page)[-1]  # the assistant's draft is in the box, ready to send
    page.click(".chat form.row button[type=submit]")
    for _ in range(100):
        with database.Session() as s:
            sent = s.scalar(select(Message.body).where(Message.direction == Direction.outbound, Message.body == text))
        if sent:
            break
        page.wait_for_timeout(100)
    assert sent == text
    shot(page, "62-coach-sent")
