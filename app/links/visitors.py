"""Who opened a personal page: a person (and in which app), or a machine that must not count.

A link sent in a chat is fetched by more than the customer: WeChat, WeCom and the other apps'
link-preview fetchers build the card before anyone taps it, browsers prefetch, and security
scanners follow links. None of these is an "opened". What each sends:

- the real WeChat in-app browser says ``MicroMessenger/<version>`` (WeCom adds ``wxwork/``) and
  is a person: crawler lists that once flagged ``MicroMessenger`` as a bot reverted it
  (JayBizzle/Crawler-Detect #358 → #395), so the app name alone never marks a visit as a bot;
- link previewers and crawlers name themselves: ``…bot``, ``spider``, ``crawler``, ``preview``,
  ``facebookexternalhit``, ``WhatsApp/2.x`` (the previewer; its in-app browser has no such
  token), ``TelegramBot``, ``Slackbot``, ``Discordbot``, ``SkypeUriPreview``, and HTTP libraries
  (``curl``, ``python-requests``, ``okhttp``, ``Go-http-client``…) and headless browsers;
- browser prefetches say so in a header: ``Sec-Purpose: prefetch`` (Chromium, current),
  ``Purpose: prefetch`` (older Chromium, Safari), ``X-Moz: prefetch`` (Firefox),
  ``X-Purpose: preview`` (Safari's top-sites previews);
- WeChat's servers may also re-request a URL seen in a chat (a safety scan) a few seconds after
  the customer opened it, with a browser-like agent. Such a replay cannot be told from the
  customer by its headers; it is absorbed by counting repeat views of one link within
  ``REPEAT_VIEW_SECONDS`` as one (see ``app.links.actions.record_view``).

A request with no User-Agent at all is a program too. Anything else counts, classed by app.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

REPEAT_VIEW_SECONDS = 120

_MACHINE = re.compile(
    r"bot\b|bot/|spider|crawl|preview|slurp|facebookexternalhit|facebot|whatsapp/\d|telegrambot|slackbot"
    r"|discordbot|skypeuripreview|embedly|iframely|bitlybot|vkshare|pinterest/|qwantify|bytespider|yisouspider"
    r"|sogou web|360spider|headlesschrome|phantomjs|lighthouse|curl/|wget/|python-requests|python-urllib"
    r"|aiohttp|httpx|okhttp|go-http-client|java/|apache-httpclient|libwww|node-fetch|axios/|postmanruntime",
    re.IGNORECASE)
_PREFETCH_HEADERS = (("Sec-Purpose", "prefetch"), ("Purpose", "prefetch"), ("X-Moz", "prefetch"),
                     ("X-Purpose", "preview"))


def is_prefetch(headers: Mapping[str, str]) -> bool:
    """The browser fetched this ahead of a possible tap (or for a preview), not for a person now."""
    return any(want in (headers.get(name) or "").lower() for name, want in _PREFETCH_HEADERS)


def visitor_class(headers: Mapping[str, str]) -> str | None:
    """``wecom``, ``wechat``, ``mobile`` or ``browser`` for a person; None for a machine or a prefetch."""
    if is_prefetch(headers):
        return None
    agent = headers.get("User-Agent") or ""
    if not agent.strip() or _MACHINE.search(agent):
        return None
    lowered = agent.lower()
    if "wxwork/" in lowered:
        return "wecom"
    if "micromessenger/" in lowered:
        return "wechat"
    if "mobile" in lowered or "android" in lowered or "iphone" in lowered:
        return "mobile"
    return "browser"
