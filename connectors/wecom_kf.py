"""微信客服 (WeCom customer service): the WeCom path that carries two-way chat content.

The callback (``kf_msg_or_event``) carries no message, only a token: we then pull with
``kf/sync_msg`` from our stored cursor until ``has_more`` is 0, and each pulled message lands
once (by its ``msgid``). Replies go out with ``kf/send_msg``, carrying a ``msgid`` derived from the
idempotency key, so a reply whose outcome is unknown can be matched by a person later.

sync_msg: https://developer.work.weixin.qq.com/document/path/94670
send_msg: https://developer.work.weixin.qq.com/document/path/94677
"""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from connectors.base import (Capabilities, InboundEvent, InboundRejected, InboundRequest, Outbound,
                             SendResult, event_digest, register)
from connectors.wechat_common import call_api
from connectors.wecom import WeComCallback

ORIGIN_CUSTOMER = 3  # 3: sent by the customer, 4: system event, 5: sent by a servicer
SYNC_LIMIT = 1000


def kf_msgid(idempotency_key: str) -> str:
    """Our reply's msgid for kf/send_msg (≤ 32 chars of [0-9a-zA-Z_-@])."""
    return hashlib.sha1(idempotency_key.encode()).hexdigest()[:32]


def _content(msg: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    kind = msg.get("msgtype")
    if kind == "text":
        return "text", str((msg.get("text") or {}).get("content") or ""), {}
    if kind == "image":
        return "image", "", {"media_id": (msg.get("image") or {}).get("media_id")}
    if kind == "location":
        loc = msg.get("location") or {}
        return "location", str(loc.get("name") or loc.get("address") or "[位置]"), {}
    return "text", f"[{kind}]", {}


@register
class WeComKfConnector(WeComCallback):
    kind = "wecom-kf"
    label, label_en = "微信客服", "WeChat Customer Service"
    # 微信客服 answers a customer who wrote in; the platform has no mass message.
    capabilities = Capabilities(max_text_chars=2048, reply_window=dt.timedelta(hours=48), two_way=True,
                                media=("text",), sends_per_second=20.0, mass_send=False)
    required_settings = ("corpid", "secret", "token", "encoding_aes_key", "open_kfid")

    def parse_inbound(self, request: InboundRequest) -> list[InboundEvent]:
        msg = self.decrypted(request)
        at = self.at(msg)
        if msg["MsgType"] != "event" or msg.get("Event") != "kf_msg_or_event":
            raise InboundRejected(f"unknown event {msg.get('Event')!r}", 400)
        if not msg.get("Token"):
            raise InboundRejected("Token missing", 400)
        return [InboundEvent("sync", msg.get("OpenKfId") or "-", event_digest(msg), at=at,
                             payload={"token": msg["Token"], "open_kfid": msg.get("OpenKfId")})]

    def sync(self, cursor: str | None, token: str | None) -> tuple[list[InboundEvent], str | None, bool]:
        """One page of messages after ``cursor``: (events, next cursor, has more)."""
        body: dict[str, Any] = {"limit": SYNC_LIMIT, "open_kfid": self.setting("open_kfid")}
        if cursor:
            body["cursor"] = cursor
        if token:
            body["token"] = token
        data = call_api(self.tokens, self.transport, "POST", f"{self.base_url}/cgi-bin/kf/sync_msg",
                        json_body=body)
        events = []
        for item in data.get("msg_list") or []:
            if not isinstance(item, dict) or not item.get("msgid"):
                continue
            at = dt.datetime.fromtimestamp(int(item.get("send_time") or 0), dt.timezone.utc)
            if item.get("origin") == ORIGIN_CUSTOMER and item.get("external_userid"):
                type_, text, payload = _content(item)
                events.append(InboundEvent("message", item["external_userid"], f"kf:{item['msgid']}",
                                           type=type_, body=text, payload=payload,
                                           clerk_ref=item.get("servicer_userid"), at=at))
            else:
                events.append(InboundEvent("noop", item.get("external_userid") or "-", f"kf:{item['msgid']}",
                                           payload={"origin": item.get("origin")}, at=at))
        return events, data.get("next_cursor") or cursor, bool(data.get("has_more"))

    def send(self, outbound: Outbound) -> SendResult:
        msgid = kf_msgid(outbound.idempotency_key)
        call_api(self.tokens, self.transport, "POST", f"{self.base_url}/cgi-bin/kf/send_msg",
                 json_body={"touser": outbound.recipient, "open_kfid": self.setting("open_kfid"),
                            "msgid": msgid, "msgtype": "text", "text": {"content": outbound.body}})
        return SendResult(provider_message_id=msgid)
