"""Seed 004's whole story in real headless Chromium: head office (desktop) creates a care task with
products and a coupon → the clerk (390×844) sends it in one tap → the customer opens their own page
on a 390×844 phone inside "WeChat", sees their code and the products, taps 去购买 → the shop's order
comes back through the public order API with ``ref`` and ``coupon_code`` → the clerk's screen shows
the sale and the commission live → the task's report shows the funnel and what the coupon cost.
Screenshots: ``test-artifacts/care-task-story/``."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import func, select

from tests import factories
from tests.web.live import PHONE, WECHAT, browser_page, seeded_server, sign_in

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "care-task-story"
UTC = dt.timezone.utc
DESKTOP = {"viewport": {"width": 1440, "height": 900}, "timezone_id": "Asia/Shanghai"}
PAGE_URL = re.compile(r"https?://\S+/p/[A-Za-z0-9_-]{16,}")
TOKENS: dict[str, str] = {}


def _brand(s, brand) -> None:
    """A serum beside the seeded cream, 3 % on every sale, the shop's address, the segment head
    office found (陈静 has bought twice), and an integrator's token."""
    from app.auth import create_api_token
    from models import CommissionRule, Setting

    factories.product(s, sku="SERUM", name="修护精华 30ml", category="skincare", price_fen=36800)
    s.add(CommissionRule(name="全场 3%", kind="percent", rate_bp=300, effective_from=dt.datetime(2020, 1, 1, tzinfo=UTC)))
    s.add(Setting(key="personal_links", value={"expiry_days": 14, "click_window_days": 7,
                                               "shop_url": "https://shop.example.com/goods/{sku}"}))
    factories.segment(s, {"field": "paid_orders", "op": ">=", "value": 2}, name="复购老客")
    TOKENS["integrator"] = create_api_token(s, "care-task-story")


def _one(database, query):
    with database.Session() as s:
        return s.execute(query).one()


def test_seed_004_from_head_office_to_the_clerk_s_commission(browser, tmp_path):
    from models import Customer, Message
    from models.links import LinkEvent

    with seeded_server(tmp_path, add=_brand) as (server, brand, database):
        bearer = {"Authorization": f"Bearer {TOKENS['integrator']}"}
        made = requests.post(f"{server.url}/api/v1/coupon-templates", headers=bearer, timeout=20, json={
            "name": "换季回馈", "kind": "amount_off", "value": "20.00", "threshold": "200.00", "valid_days": 14})
        assert made.status_code == 201, made.text

        shop_hits: list[str] = []

        def shop(route):  # the brand's shop, where 去购买 leads with our ref
            shop_hits.append(route.request.url)
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body="<h1>商城</h1>")

        with browser_page(browser, **DESKTOP) as hq, browser_page(browser, **PHONE) as clerk, \
                browser_page(browser, **PHONE, user_agent=WECHAT) as customer:
            customer.context.route("https://shop.example.com/**", shop)
            sign_in(clerk, f"{server.url}/console/", "clerk1")
            clerk.wait_for_selector(".topbar .conn.on")

            # Head office: the task, with the products its page shows and the coupon its message gives.
            sign_in(hq, f"{server.url}/hq/", "hq")
            hq.click("a[data-page=tasks]")
            form = hq.locator("form.task-form")
            form.locator("input[name=title]").fill("换季补货关怀")
            form.locator("input[name=goal]").fill("复购老客换季补货，邀请看看新精华")
            form.locator("select[name=segment_id]").select_option(label="复购老客")
            form.locator("select[name=scenario]").select_option("补货")
            form.locator("textarea[name=template]").fill("{{ customer_name }}您好，我是{{ clerk_name }}，换季给您挑了两样，还送您一张券")
            form.locator(".product-tick:has-text('修护精华 30ml') input").check()
            form.locator(".product-tick:has-text('玻尿酸保湿面霜') input").check()
            form.locator("select[name=coupon_template_id]").select_option(label="换季回馈（满200减20）")
            hq.screenshot(path=str(ARTIFACTS / "1-hq-form.png"), full_page=True)
            form.locator("button[type=submit]").click()
            hq.wait_for_selector(".toast:has-text('已下发给 1 位导购，共 1 位客户')")

            # The clerk: the task says what goes with it; one tap sends it.
            clerk.click(".tab[data-screen=tasks]")
            clerk.click(".task-row:has-text('换季补货关怀')")
            expect(clerk.locator(".task-info .task-coupon")).to_have_text("随消息送券：满200减20")
            expect(clerk.locator(".task-info .task-page")).to_have_text("附专属商品页（2 件商品）")
            card = clerk.locator(".target-card:has-text('陈静')")
            clerk.screenshot(path=str(ARTIFACTS / "2-clerk-task.png"))
            card.locator("button.send-now").click()
            expect(clerk.locator(".target-card:has-text('陈静') .status-badge")).to_have_text("已发送")
            clerk.wait_for_selector(".toast:has-text('已发送给 陈静')")
            clerk.screenshot(path=str(ARTIFACTS / "3-clerk-sent.png"))

            # The customer: the message's link opens her page, her own code on it, with the products.
            (body,) = _one(database, select(Message.body).where(Message.client_id.like("task:%")))
            assert body.startswith("陈静您好，我是王小美，换季给您挑了两样")
            customer.goto(PAGE_URL.search(body).group(0))
            coupon = customer.locator(".coupon")
            expect(coupon).to_have_count(1)
            expect(coupon).to_contain_text("满200减20")
            code = coupon.get_attribute("data-coupon")
            expect(coupon.locator("code")).to_have_text(code)
            expect(customer.locator("li.product")).to_have_count(2)
            assert customer.evaluate("document.documentElement.scrollWidth") <= 390
            customer.screenshot(path=str(ARTIFACTS / "4-customer-page.png"), full_page=True)
            clerk.wait_for_selector(".toast:has-text('陈静 看了你发的商品页')")
            customer.click("li.product[data-sku=SERUM] a.btn")
            customer.wait_for_url("https://shop.example.com/**")
            (ref,) = shop_hits
            ref = ref.split("ref=")[1]

            # The shop's order, as an integrator posts it: the page's ref and the customer's code.
            (clicked,) = _one(database, select(func.max(LinkEvent.at)).where(LinkEvent.kind == "buy"))
            (external,) = _one(database, select(Customer.external_id).where(Customer.id == brand.customers["陈静"]))
            paid = (clicked + dt.timedelta(minutes=1)).isoformat()
            order = requests.post(f"{server.url}/api/v1/orders", headers=bearer, timeout=20, json=[{
                "external_id": "STORY-1", "customer": external, "status": "paid", "created_at": paid, "paid_at": paid,
                "amount": "348.00", "ref": ref, "coupon_code": code,
                "items": [{"sku": "SERUM", "quantity": 1, "price": "368.00"}]}])
            assert order.status_code == 200 and order.json()["accepted"] == 1, order.text

            # The clerk's screen, live: who bought, how much, the commission; the card says 已购买.
            clerk.wait_for_selector(".toast:has-text('陈静 通过你的链接下单 ¥348.00，提成 ¥10.44')")
            expect(clerk.locator(".target-card:has-text('陈静') .status-badge")).to_have_text("已购买")
            clerk.screenshot(path=str(ARTIFACTS / "5-clerk-live.png"))

            # Head office's report: the funnel and what the coupon cost.
            hq.click("a[data-page=tasks]")
            hq.click("tr[data-task] a:has-text('换季补货关怀')")
            steps = hq.locator(".funnel-steps")
            for step, n in (("sent", "1"), ("opened", "1"), ("clicked", "1"), ("bought", "1")):
                expect(steps.locator(f"li[data-step={step}] .funnel-count")).to_have_text(n)
            report = hq.locator(".task-coupons")
            expect(report).to_contain_text("随消息送“换季回馈”（满200减20）：已发 1 张，已使用 1 张")
            expect(report.locator("[data-figure=coupon_cost] .value")).to_have_text("¥20.00")
            expect(report.locator("[data-figure=revenue] .value")).to_have_text("¥348.00")
            expect(report.locator("[data-figure=net_revenue] .value")).to_have_text("¥328.00")
            report.scroll_into_view_if_needed()
            hq.screenshot(path=str(ARTIFACTS / "6-hq-report.png"), full_page=True)
