"""Reception in real Chromium: a customer no clerk owns writes; within a second the store's pool
shows them on the manager's phone (390×844); a clerk takes them with one tap while a colleague's
claim at the same moment is refused; the reply goes out on the channel the customer wrote on; and
head office sees the first-response time on its chart. Screenshots: ``test-artifacts/reception/``."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests import factories
from tests.web.live import PHONE, browser_page, inbound, login, seeded_server, sign_in

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reception"


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """The seeded brand plus 孙悦, who shops at 静安嘉里店 but follows no clerk, and 路人甲, whom
    no store knows."""
    def add(s, brand):
        sun = factories.customer(s, name="孙悦", home_store_id=brand.store_id)
        factories.identity(s, sun, "loopback", f"lb-{sun.id}")
        brand.customers["孙悦"] = sun.id
        brand.customers["路人甲"] = factories.customer(s, name="路人甲").id

    with seeded_server(tmp_path_factory.mktemp("reception"), add) as (server, brand, _database):
        yield server, brand, brand.customers["孙悦"]


def test_an_unowned_customer_is_seen_claimed_once_and_answered(shop, browser):
    server, brand, sun = shop
    with browser_page(browser, **PHONE) as manager, browser_page(browser, **PHONE) as clerk:
        for page, who in ((manager, "manager1"), (clerk, "clerk1")):
            sign_in(page, f"{server.url}/console/", who)
            page.wait_for_selector(".topbar .conn.on")
            page.click(".tab[data-screen=messages]")
            page.click(".conv-tab[data-tab=pool]")
            page.wait_for_selector(".conversations .empty")

        started = time.monotonic()
        inbound(server.url, sun, "这款面霜还有货吗？")
        stored = time.monotonic()
        manager.wait_for_selector(".conversation:has-text('孙悦')", timeout=3000)
        shown = time.monotonic()
        # On the manager's phone within a second of being stored (bench/realtime.py measures the p95
        # at 1,000 consoles); the whole trip, callback included, well inside WeChat's patience.
        assert shown - stored < 1.0 and shown - started < 3.0, (stored - started, shown - stored)
        assert manager.inner_text(".conv-tab[data-tab=pool]") == "待接待 1"
        manager.screenshot(path=str(ARTIFACTS / "01-manager-pool.png"))

        clerk.wait_for_selector(".conversation:has-text('孙悦')")
        clerk.click(".conversation:has-text('孙悦')")
        clerk.wait_for_selector(".claim-bar .claim")
        clerk.screenshot(path=str(ARTIFACTS / "02-clerk-pooled-chat.png"))
        conversation = clerk.get_attribute(".chat", "data-conversation")
        rival = login(server.url, "clerk2")
        clerk.click(".claim-bar .claim")
        late = rival.post(f"{server.url}/api/v1/conversations/{conversation}/claim", timeout=10)
        assert late.status_code == 409 and "王小美" in late.json()["fields"]["conversation_id"]
        clerk.wait_for_selector(".composer textarea")
        clerk.fill(".composer textarea", "有货的，给您留一瓶")
        clerk.click(".composer .send")
        clerk.wait_for_selector(".msg.out:has-text('给您留一瓶') .tick.delivered")
        clerk.screenshot(path=str(ARTIFACTS / "03-clerk-answered.png"))
        manager.wait_for_selector(".conversations .empty")  # gone from the pool on every phone
        assert manager.inner_text(".conv-tab[data-tab=pool]") == "待接待"

        stored = login(server.url, "clerk1").get(f"{server.url}/api/v1/conversations/{conversation}/messages", timeout=10).json()
        assert [m["channel"] for m in stored["messages"]] == ["loopback", "loopback"]

        with browser_page(browser, viewport={"width": 1440, "height": 900}) as hq:
            sign_in(hq, f"{server.url}/hq/#reception", "hq")
            hq.wait_for_selector(".page-reception .tiles")
            hq.wait_for_selector(".page-reception canvas")
            tiles = hq.inner_text(".page-reception .tiles")
            assert "100%" in tiles and "首次响应" in tiles
            assert "静安嘉里店" in hq.inner_text(".page-reception")
            hq.screenshot(path=str(ARTIFACTS / "04-hq-reception.png"), full_page=True)

            # A customer no store knows waits in head office's pool; head office sends them to a store.
            inbound(server.url, brand.customers["路人甲"], "你们在上海有门店吗")
            hq.reload()
            hq.wait_for_selector(".pool-list li:has-text('路人甲')")
            hq.select_option(".pool-list li:has-text('路人甲') select", label="静安嘉里店")
            hq.screenshot(path=str(ARTIFACTS / "05-hq-routes-to-store.png"), full_page=True)
            hq.click(".pool-list li:has-text('路人甲') .route button")
            manager.wait_for_selector(".conversation:has-text('路人甲')")


def poll(page, expression: str, timeout: float = 10.0):
    """Evaluate until the value is truthy (the page's CSP forbids wait_for_function's eval)."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_the_console_is_installable_and_notifies_a_clerk_who_is_elsewhere(shop, browser):
    """Chromium's own installability check passes (manifest, icons, service worker), the shell
    is cached by the worker, and with the permission granted a new message raises a system
    notification when the clerk is not looking at the console; the title carries the count."""
    server, brand, sun = shop
    with browser_page(browser, viewport=PHONE["viewport"], is_mobile=True, has_touch=True,
                      permissions=["notifications"]) as page:
        sign_in(page, f"{server.url}/console/", "clerk1")
        page.wait_for_selector(".topbar .conn.on")
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        cdp = page.context.new_cdp_session(page)
        problems = [e["errorId"] for e in cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]]
        assert [p for p in problems if p != "in-incognito"] == []  # Playwright's contexts are incognito-like
        cached = page.evaluate("caches.keys().then(ks => Promise.all(ks.map(k => caches.open(k).then(c => c.keys()))))"
                               ".then(all => all.flat().map(r => new URL(r.url).pathname))")
        assert "/console/" in cached and any(p.endswith("/console/app.js") for p in cached)
        assert page.evaluate("navigator.serviceWorker.controller !== null") or page.reload() is None

        page.wait_for_selector(".topbar .conn.on")
        page.evaluate("document.hasFocus = () => false")  # the clerk is in another app
        inbound(server.url, brand.customers["刘洋"], "在吗？想问下尺码")
        shown = poll(page, "navigator.serviceWorker.ready.then(r => r.getNotifications())"
                           ".then(ns => ns.map(n => n.title + '|' + n.body))")
        assert shown == ["刘洋 发来消息|在吗？想问下尺码"]
        assert re.match(r"\(\d+\) 导购助手", page.title())  # the waiting count, in the tab and the task switcher
