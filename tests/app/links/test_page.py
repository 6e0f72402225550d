"""``/p/<token>``: the customer's page, what it shows, to whom, and what it counts."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models import ConsoleEvent, Conversation, Message, ServiceWait
from models.links import LinkEvent

WECHAT = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN")
WECOM = WECHAT.replace("MicroMessenger/8.0.47(0x18002f2c)", "wxwork/4.1.22 MicroMessenger/7.0.1")
CHROME = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/126.0.0.0 Mobile Safari/537.36")


def _get(client, path, agent=WECHAT, **headers):
    return client.get(path, headers={"User-Agent": agent, **headers})


def _events(db, link_id, kind=None):
    with db.Session() as s:
        q = select(LinkEvent).where(LinkEvent.link_id == link_id)
        if kind:
            q = q.where(LinkEvent.kind == kind)
        return s.scalars(q).all()


def _notes(db, customer_id):
    with db.Session() as s:
        return s.scalars(select(Message).join(Conversation, Conversation.id == Message.conversation_id)
                         .where(Conversation.customer_id == customer_id, Message.type == "event")
                         .order_by(Message.id)).all()


def test_the_page_shows_the_clerk_a_greeting_and_the_products_ranked_for_this_customer(client, make_link):
    issued = make_link()
    resp = _get(client, f"/p/{issued.token}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    assert "王小美" in html and "静安嘉里店" in html and "陈静，您好" in html
    assert "爽肤水" not in html  # out of stock
    # The cream runs out (bought 10-01, 30 days): first; the serum is in her ¥100–500 band; the device is not.
    assert html.index("玻尿酸保湿面霜") < html.index("修护精华") < html.index("美容仪")
    assert "¥268.00" in html and "¥368.00" in html and "¥2999.00" in html
    assert "<script" not in html and "//cdn" not in html and len(resp.get_data()) < 100_000
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert "script-src" not in resp.headers["Content-Security-Policy"]


def test_the_page_shows_the_coupon_the_customer_holds(client, make_link, brand, monkeypatch):
    queries = pytest.importorskip("app.coupons.queries")
    asked = []

    def held(session, customer_id, *a, **kw):
        asked.append(customer_id)
        return [{"code": "K7PQ2MWX9RTA", "title": "满200减20", "value_label": "¥20",
                 "expires_at": "2026-12-01T15:59:59+00:00", "expires_label": "12月1日前有效"}]

    monkeypatch.setattr(queries, "held_coupons", held)
    html = _get(client, f"/p/{make_link().token}").get_data(as_text=True)
    assert asked == [brand["chen"]]
    assert "满200减20" in html and "K7PQ2MWX9RTA" in html and "12月1日前有效" in html


def test_a_view_is_noted_in_the_chat_without_unread_or_wait_and_pushed_to_the_clerk(client, db, make_link, brand):
    issued = make_link()
    assert _get(client, f"/p/{issued.token}").status_code == 200
    [event] = _events(db, issued.link.id)
    assert (event.kind, event.agent) == ("view", "wechat")
    [note] = _notes(db, brand["chen"])
    assert note.body == "陈静 看了你发的商品页" and note.direction.value == "in"
    with db.Session() as s:
        conv = s.get(Conversation, note.conversation_id)
        assert conv.clerk_id == brand["clerk1"] and conv.unread_count == 0 and conv.waiting_since is None
        assert s.scalars(select(ServiceWait)).all() == []
        pushed = s.scalars(select(ConsoleEvent).where(ConsoleEvent.room == f"clerk:{brand['clerk1']}")).all()
    activity = [e for e in pushed if e.name == "link.activity"]
    assert [e.payload["message"] for e in activity] == ["陈静 看了你发的商品页"]
    assert set(activity[0].payload) == {"link_id", "kind", "message", "customer", "conversation_id", "message_id"}
    assert any(e.name == "message.created" and e.payload["message"]["type"] == "event" for e in pushed)


def test_a_reload_is_one_visit_and_a_later_visit_is_noted_again(client, db, make_link, brand, clock):
    issued = make_link()
    _get(client, f"/p/{issued.token}")
    clock.travel(seconds=30)
    _get(client, f"/p/{issued.token}", agent=CHROME)  # WeChat's server re-fetching, or a reload
    assert len(_events(db, issued.link.id, "view")) == 1
    clock.travel(minutes=5)
    _get(client, f"/p/{issued.token}")
    assert len(_events(db, issued.link.id, "view")) == 2
    assert len(_notes(db, brand["chen"])) == 1  # the same visit for the chat (within 30 minutes)
    clock.travel(hours=2)
    _get(client, f"/p/{issued.token}", agent=WECOM)
    assert [n.body for n in _notes(db, brand["chen"])][-1] == "陈静 又看了你发的商品页（第 3 次）"
    assert _events(db, issued.link.id, "view")[-1].agent == "wecom"


@pytest.mark.parametrize("agent,headers", [
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", {}),
    ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", {}),
    ("WhatsApp/2.23.20.0 A", {}),
    ("TelegramBot (like TwitterBot)", {}),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) SkypeUriPreview Preview/0.5", {}),
    ("Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)", {}),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0 Safari/537.36", {}),
    ("curl/8.5.0", {}),
    ("python-requests/2.32.3", {}),
    ("", {}),
    (CHROME, {"Sec-Purpose": "prefetch"}),
    (CHROME, {"Sec-Purpose": "prefetch;prerender"}),
    (CHROME, {"Purpose": "prefetch"}),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:126.0) Gecko/20100101 Firefox/126.0", {"X-Moz": "prefetch"}),
])
def test_link_previews_crawlers_and_prefetches_are_not_counted(client, db, make_link, brand, agent, headers):
    issued = make_link()
    assert _get(client, f"/p/{issued.token}", agent=agent, **headers).status_code == 200
    resp = _get(client, f"/p/{issued.token}/buy/SERUM", agent=agent, **headers)
    assert resp.status_code in (302, 404)
    assert _events(db, issued.link.id) == [] and _notes(db, brand["chen"]) == []


def test_buy_goes_to_the_shop_with_the_links_ref_and_counts_a_click(client, auth, db, make_link, brand):
    auth.login("hq")
    assert client.put("/api/v1/links/settings", json={"shop_url": "https://shop.example.com/item/{sku}?from=dg&ref=x"}
                      ).status_code == 200
    auth.logout()
    issued = make_link()
    html = _get(client, f"/p/{issued.token}").get_data(as_text=True)
    assert f'href="/p/{issued.token}/buy/SERUM"' in html
    resp = _get(client, f"/p/{issued.token}/buy/SERUM")
    assert resp.status_code == 302
    assert resp.headers["Location"] == f"https://shop.example.com/item/SERUM?from=dg&ref={issued.link.code}"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert sorted(e.kind for e in _events(db, issued.link.id) if e.sku == "SERUM") == ["buy", "click"]
    assert [n.body for n in _notes(db, brand["chen"])][-1] == "陈静 点了「修护精华」去购买"


def test_without_a_shop_address_there_is_no_buy_button_and_no_redirect(client, db, make_link):
    issued = make_link(skus=["SERUM"])
    html = _get(client, f"/p/{issued.token}").get_data(as_text=True)
    assert "/buy/" not in html and "请联系导购购买" in html
    assert _get(client, f"/p/{issued.token}/buy/SERUM").status_code == 404
    assert _get(client, f"/p/{issued.token}/buy/CREAM").status_code == 404  # not on this page


def test_a_products_own_web_page_is_the_shop_when_the_brand_has_no_template(client, db, make_link):
    from models import Product

    with db.transaction() as s:
        s.scalar(select(Product).where(Product.sku == "SERUM")).url = "https://m.tb.cn/item?id=42"
        s.scalar(select(Product).where(Product.sku == "CREAM")).url = "javascript:alert(1)"
    issued = make_link(skus=["SERUM", "CREAM"])
    resp = _get(client, f"/p/{issued.token}/buy/SERUM")
    assert resp.headers["Location"] == f"https://m.tb.cn/item?id=42&ref={issued.link.code}"
    assert _get(client, f"/p/{issued.token}/buy/CREAM").status_code == 404


def test_an_expired_link_names_the_clerk_but_never_the_customer_or_a_product(client, db, make_link, clock):
    issued = make_link()
    clock.travel(days=15)  # the default 14 days have passed
    for path in (f"/p/{issued.token}", f"/p/{issued.token}/buy/SERUM"):
        resp = _get(client, path)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200 and "已过期" in html and "王小美" in html and "静安嘉里店" in html
        assert "陈静" not in html and "修护精华" not in html and "¥" not in html and "/buy/" not in html
    assert _events(db, issued.link.id) == []


def test_unknown_garbled_and_guessed_tokens_show_nobody(client, db, make_link):
    issued = make_link()
    token = issued.token
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    guesses = [flipped, token[:-1], token + "x", token.upper() if token.upper() != token else token.lower(),
               issued.link.code, "A" * 16, "0000000000000001", "0000000000000002", "1", "2", str(issued.link.id),
               "..x", "<b>x<b>", "x" * 500, "陈静" * 8]
    for guess in guesses:
        for path in (f"/p/{guess}", f"/p/{guess}/buy/SERUM", f"/p/{guess}/ask"):
            resp = _get(client, path)
            html = resp.get_data(as_text=True)
            assert resp.status_code == 404, (guess, path)
            assert "没有找到" in html and "陈静" not in html and "王小美" not in html and "修护精华" not in html
    assert _events(db, issued.link.id) == []


def test_ask_my_clerk_tells_the_clerk_in_their_chat(client, db, make_link, brand):
    issued = make_link()
    html = _get(client, f"/p/{issued.token}/ask").get_data(as_text=True)
    assert "已告诉王小美" in html and "陈静" not in html
    assert [n.body for n in _notes(db, brand["chen"])] == ["陈静 在商品页点了「问问导购」，想找你聊聊"]
