"""Who opened a page: people by app, and the machines and prefetches that must not count."""
from __future__ import annotations

import pytest

from app.links.visitors import visitor_class

IPHONE_WECHAT = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN")
ANDROID_WECHAT = ("Mozilla/5.0 (Linux; Android 13; V2203A Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like "
                  "Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 "
                  "MMWEBID/2247 MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN")
WECOM = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 "
         "wxwork/4.1.22 MicroMessenger/7.0.1 Language/zh ColorScheme/Light")
SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.4 Mobile/15E148 Safari/604.1")
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"


@pytest.mark.parametrize("agent,expected", [
    (IPHONE_WECHAT, "wechat"), (ANDROID_WECHAT, "wechat"), (WECOM, "wecom"), (SAFARI, "mobile"), (DESKTOP, "browser"),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", None),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", None),
    ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", None),
    ("WhatsApp/2.23.20.0 A", None), ("TelegramBot (like TwitterBot)", None),
    ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", None),
    ("Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", None),
    ("Mozilla/5.0 (compatible; YandexBot/3.0)", None), ("Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)", None),
    ("Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)", None),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36", None),
    ("curl/8.5.0", None), ("Wget/1.21.4", None), ("python-requests/2.32.3", None), ("okhttp/4.12.0", None),
    ("Go-http-client/2.0", None), ("", None), ("   ", None),
])
def test_people_are_classed_by_app_and_machines_are_none(agent, expected):
    assert visitor_class({"User-Agent": agent}) == expected


@pytest.mark.parametrize("header,value", [("Sec-Purpose", "prefetch"), ("Sec-Purpose", "prefetch;prerender"),
                                          ("Purpose", "prefetch"), ("X-Moz", "prefetch"), ("X-Purpose", "preview")])
def test_a_prefetch_is_never_a_visit(header, value):
    assert visitor_class({"User-Agent": IPHONE_WECHAT, header: value}) is None
