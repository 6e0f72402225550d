"""The 业绩 screen in real headless Chromium at 390×844: an integrator records paid orders, the
clerk sees each one with why it is theirs, and "你刚赚了 ¥…" arrives live while they watch."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import requests

from models.base import utcnow
from tests.web.live import PHONE, browser_page, sign_in

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
UTC = dt.timezone.utc


def _brand_with_rules(database_url: str, brand) -> tuple[str, str]:
    """A commission rule, a product and an integrator token; returns (token, customer external id)."""
    from app.auth import create_api_token
    from app.db import Database
    from models import CommissionRule, Customer
    from tests import factories

    database = Database(database_url)
    with database.transaction() as s:
        factories.product(s, sku="SERUM", category="skincare", price_fen=25600)
        s.add(CommissionRule(name="护肤 5%", kind="percent", category="skincare", rate_bp=500,
                             effective_from=dt.datetime(2020, 1, 1, tzinfo=UTC)))
        token = create_api_token(s, "earnings-browser")
        customer = s.get(Customer, brand.customers["陈静"]).external_id
    database.dispose()
    return token, customer


def _post_order(url: str, token: str, customer: str, external_id: str, quantity: int) -> None:
    paid = utcnow().replace(microsecond=0).isoformat()
    resp = requests.post(f"{url}/api/v1/orders", headers={"Authorization": f"Bearer {token}"}, timeout=20, json=[{
        "external_id": external_id, "customer": customer, "status": "paid", "created_at": paid, "paid_at": paid,
        "amount": f"{256 * quantity}.00", "items": [{"sku": "SERUM", "quantity": quantity, "price": "256.00"}]}])
    assert resp.status_code == 200 and resp.json()["accepted"] == 1, resp.text


def test_clerk_sees_earnings_and_is_told_live(live, browser):
    server, brand = live
    token, customer = _brand_with_rules(_db_url(server), brand)
    _post_order(server.url, token, customer, "EARN-1", 1)  # 5% of 256.00 = 12.80

    with browser_page(browser, **PHONE) as page:
        sign_in(page, f"{server.url}/console/", "clerk1")
        page.wait_for_selector(".topbar .conn.on")
        page.click(".tab[data-screen=earnings]")
        page.wait_for_selector(".earnings-orders li[data-order]")
        row = page.inner_text(".earnings-orders li[data-order]")
        assert "陈静" in row and "你的专属顾客" in row and "¥12.80" in row
        assert "护肤 5%" in row
        page.screenshot(path=str(ARTIFACTS / "earnings.png"))

        _post_order(server.url, token, customer, "EARN-2", 2)  # 25.60 more, pushed while watching
        page.wait_for_selector(".toast:has-text('你刚赚了 ¥25.60')")
        page.wait_for_selector(".earnings-orders li[data-order]:nth-child(2)")
        assert "¥38.40" in page.inner_text(".stats")
        page.screenshot(path=str(ARTIFACTS / "earnings-live.png"))


def _db_url(server) -> str:
    # LiveServer keeps its command line; the database URL is its first argument.
    return server.proc.args[2]


def test_head_office_sees_leaderboard_statement_and_rules(live, browser):
    server, _ = live
    with browser_page(browser, viewport={"width": 1280, "height": 900}) as page:
        sign_in(page, f"{server.url}/hq/", "hq")
        page.click("a[data-page=commission]")
        page.wait_for_selector(".commission-part table.grid td:has-text('王小美')")  # the leaderboard tab first
        page.click("[role=tab][data-tab=statement]")
        page.wait_for_selector(".commission-part td:has-text('护肤 5%')")
        assert page.get_attribute(".commission-part a[download]", "href").startswith("/api/v1/commission/statement.csv")
        page.click("[role=tab][data-tab=rules]")
        page.wait_for_selector("table.rules td:has-text('护肤 5%')")
        page.fill(".rule-form input[name=name]", "每单 3 元")
        page.select_option(".rule-form select[name=kind]", "fixed")
        page.fill(".rule-form input[name=amount]", "3")
        page.click(".rule-form button[type=submit]")
        page.wait_for_selector("table.rules td:has-text('每单 3 元')")
        assert "每单 ¥3.00" in page.inner_text("table.rules tr:has-text('每单 3 元')")
        page.screenshot(path=str(ARTIFACTS / "hq-commission.png"), full_page=True)
