"""The clerk console in real headless Chromium at 390×844, against a real server process.

Screenshots of each screen go to ``test-artifacts/console/``.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.web.live import PHONE, WAIT, browser_page, inbound, login, sign_in

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"


@pytest.fixture
def phone(browser):
    with browser_page(browser, **PHONE) as page:
        yield page.context, page


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def log_in(page, base: str, username: str = "clerk1") -> None:
    page.goto(f"{base}/console/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.click("form.login button[type=submit]")
    page.wait_for_selector(".topbar .conn.on")  # the realtime connection is up and resumed


def chat_bodies(page) -> list[str]:
    return page.eval_on_selector_all(".chat-log .msg .bubble", "els => els.map(e => e.textContent)")


def test_clerk_chats_in_realtime_and_misses_nothing_offline(live, phone):
    server, brand = live
    context, page = phone
    page.goto(f"{server.url}/console/")
    page.wait_for_selector("form.login")
    shot(page, "01-login")
    log_in(page, server.url)

    # A customer writes through the channel: the conversation appears without a reload.
    evil = '<img src=x onerror="window.__xss=1">你好，面霜还有货吗？'
    inbound(server.url, brand.customers["陈静"], evil)
    inbound(server.url, brand.customers["刘洋"], "双十一的订单什么时候发货？")
    page.wait_for_selector(".conversation:has-text('刘洋') .badge")
    page.wait_for_selector(".conversation:has-text('陈静')")
    assert page.inner_text(".tab[data-screen=messages] .badge") == "2"
    shot(page, "02-conversations")

    page.click(".conversation:has-text('陈静')")
    page.wait_for_selector(".chat .msg.in")
    # Untrusted text is text: no element was created from it and no script ran.
    assert chat_bodies(page) == [evil]
    assert page.query_selector(".chat-log img") is None
    assert page.evaluate("window.__xss === undefined")

    inbound(server.url, brand.customers["陈静"], "今天能到店取吗？")
    page.wait_for_selector(".chat .msg.in:has-text('今天能到店取吗')")

    page.fill(".composer textarea", "有货的，今天下午给您留一瓶 🙂")
    page.click(".composer .send")
    page.wait_for_selector(".msg.out:has-text('给您留一瓶') .tick.delivered")
    shot(page, "03-chat")

    # Offline: the link drops (as on shop Wi-Fi), messages keep arriving at the server, the
    # clerk even sends one; back online, everything is there exactly once.
    context.set_offline(True)
    page.evaluate("Daogou._realtime.socket.io.engine.close()")
    page.wait_for_selector(".topbar .conn.off")
    inbound(server.url, brand.customers["陈静"], "离线时的第一条")
    inbound(server.url, brand.customers["陈静"], "离线时的第二条")
    page.fill(".composer textarea", "离线时写的回复")
    page.click(".composer .send")
    page.wait_for_selector(".msg.out:has-text('离线时写的回复') .tick.sending")
    shot(page, "04-offline")
    context.set_offline(False)
    page.wait_for_selector(".topbar .conn.on")
    page.wait_for_selector(".chat .msg.in:has-text('离线时的第二条')")
    page.wait_for_selector(".msg.out:has-text('离线时写的回复') .tick.delivered")
    bodies = chat_bodies(page)
    assert bodies == [evil, "今天能到店取吗？", "有货的，今天下午给您留一瓶 🙂", "离线时的第一条", "离线时的第二条",
                      "离线时写的回复"]
    shot(page, "05-back-online")

    http = login(server.url, "clerk1")
    conv = page.get_attribute(".chat", "data-conversation")
    stored = http.get(f"{server.url}/api/v1/conversations/{conv}/messages", timeout=10).json()["messages"]
    assert [m["body"] for m in stored].count("离线时写的回复") == 1

    # The profile is one tap away.
    page.click(".chat-head .profile")
    page.wait_for_selector(".sheet .profile-head")
    assert "陈静" in page.inner_text(".sheet .profile-head")
    shot(page, "06-profile")
    page.click(".sheet .close")

    # An image: checked and stored by the server, shown in the thread, delivered.
    png = ARTIFACTS / "upload.png"
    page.screenshot(path=str(png), clip={"x": 0, "y": 0, "width": 120, "height": 90})
    page.set_input_files(".composer input[type=file]", str(png))
    page.wait_for_selector(".msg.out .bubble.image img")
    page.wait_for_selector(".msg.out:has(.bubble.image) .tick.delivered")

    # Product cards: the customer's recommendations when that API is there, else a clear notice.
    page.click(".composer .tools .products")
    page.wait_for_selector(".composer-panel .product-choices, .composer-panel .notice")
    if page.query_selector(".composer-panel .send-product"):
        page.click(".composer-panel .send-product >> nth=0")
        page.wait_for_selector(".msg.out .product-card")
    shot(page, "06b-products")
    page.click(".composer .tools .products")

    # Quick replies: keep one, insert it.
    page.click(".composer .tools .quick")
    page.fill(".quick-replies .add input", "您好，我是您的专属导购小美")
    page.click(".quick-replies .add button")
    page.wait_for_selector(".quick-replies .use:has-text('专属导购小美')")
    shot(page, "07-quick-replies")
    page.click(".quick-replies .use:has-text('专属导购小美')")
    assert page.input_value(".composer textarea") == "您好，我是您的专属导购小美"

    # Draft: inserted for editing when the drafting API is there, a clear notice when it is not.
    page.click(".composer .tools .draft")
    page.click(".draft-choices button[data-scenario=replenish]")
    page.wait_for_selector(".composer-panel .notice, .toast:has-text('草稿')")
    drafting_exists = http.post(f"{server.url}/api/v1/drafts", json={}, timeout=10).status_code != 404
    if drafting_exists:
        assert page.query_selector(".composer-panel .notice") is None
        assert page.input_value(".composer textarea") not in ("", "您好，我是您的专属导购小美")
    else:
        assert "草稿功能尚未启用" in page.inner_text(".composer-panel .notice")
    shot(page, "08-draft")


def test_tabs_switch_language_and_every_screen_renders(live, phone):
    server, _brand = live
    _context, page = phone
    log_in(page, server.url)
    names = page.eval_on_selector_all(".tabbar .tab", "els => els.map(e => e.dataset.screen)")
    assert names[0] == "messages" and {"today", "customers", "tasks", "earnings"} <= set(names)
    for name in names:
        page.click(f".tab[data-screen={name}]")
        page.wait_for_selector(f".screen-{name}:not([hidden]) > *", state="attached")
        page.wait_for_timeout(400)  # the screen's own data requests; only the screenshot depends on it
        shot(page, f"10-screen-{name}")
    page.click(".topbar .lang")
    page.wait_for_selector(".tab[data-screen=messages] .label:text('Messages')")
    page.click(".tab[data-screen=messages]")
    page.wait_for_selector(".screen-messages .conversation")
    assert page.get_attribute(".screen-messages input[type=search]", "placeholder") == "Search name or phone tail"
    shot(page, "11-english")
    page.click(".topbar .lang")  # back to Chinese for the other tests (kept per staff member)
    page.wait_for_selector(".tab[data-screen=messages] .label:text('消息')")


def test_a_clerk_sees_only_their_own_conversations_in_the_browser(live, phone):
    server, brand = live
    _context, page = phone
    inbound(server.url, brand.other_customer, "只给李安看的消息")
    log_in(page, server.url, "clerk2")
    page.wait_for_selector(".conversation:has-text('周其他')")
    assert page.query_selector(".conversation:has-text('陈静')") is None


def test_head_office_manages_staff_with_a_handover(live, browser):
    server, brand = live
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(WAIT)
    try:
        sign_in(page, f"{server.url}/hq/", "hq")
        page.wait_for_selector(".sidenav a[data-page=staff]")
        shot(page, "20-hq-home")
        page.click(".sidenav a[data-page=staff]")
        page.wait_for_selector("table.grid tr[data-staff]")
        page.fill(".form-row input[name=display_name]", "孙新人")
        page.fill(".form-row input[name=username]", "sun")
        page.fill(".form-row input[name=password]", "longenough")
        page.click(".form-row button[type=submit]")
        page.wait_for_selector("table.grid td:text('孙新人')")
        shot(page, "21-hq-staff")
        page.click(f"tr[data-staff='{brand.clerk2}'] .handover")
        page.select_option(".dialog select", str(brand.clerk1))
        shot(page, "22-hq-handover")
        page.click(".dialog .primary")
        page.wait_for_selector(f"tr[data-staff='{brand.clerk2}'].inactive")
        page.click(".sidenav a[data-page=channels]")
        page.wait_for_selector(".page-channels canvas, .page-channels .panel")
        shot(page, "23-hq-channels")
    finally:
        context.close()
    # clerk2's follower now belongs to clerk1, and clerk2 can no longer log in
    http = login(server.url, "clerk1")
    profile = http.get(f"{server.url}/api/v1/customers/{brand.other_customer}", timeout=10)
    assert profile.status_code == 200
    assert requests.post(f"{server.url}/auth/login", json={"username": "clerk2", "password": "demo"},
                         timeout=10).status_code == 401
