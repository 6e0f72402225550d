"""WeChat Official Account (微信公众号): callbacks in plain, compatible and safe (AES) modes,
customer-service messages inside the 48-hour window, template messages outside it.

Callback protocol: https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html
Safe mode: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html
Customer-service send: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html
Template send: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Template_Message_Interface.html
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from connectors.base import (Capabilities, ConnectorError, InboundEvent, InboundRejected,
                             InboundRequest, Outbound, SendResult, event_digest, register)
from models import clock
from connectors.wechat_common import (WeChatConnector, call_api, check_signature, check_signed_query, decrypt,
                                      parse_xml, refuse_replayed_query)

REPLY_WINDOW = dt.timedelta(hours=48)
WINDOW_QUOTA = 5  # customer-service messages per window since 2023 (45047 beyond it)
MESSAGE_TYPES = {"text", "image", "voice", "video", "shortvideo", "location", "link"}
# Events that carry nothing for the clerk: acknowledged and remembered, nothing else.
QUIET_EVENTS = {"click", "view", "location", "view_miniprogram", "scancode_push", "scancode_waitmsg"}


def _body_of(msg: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    kind = msg["MsgType"]
    if kind == "text":
        return "text", msg.get("Content") or "", {}
    if kind == "image":
        return "image", "", {"url": msg.get("PicUrl"), "media_id": msg.get("MediaId")}
    if kind == "voice":
        return "voice", msg.get("Recognition") or "[语音]", {"media_id": msg.get("MediaId")}
    if kind in ("video", "shortvideo"):
        return "video", "[视频]", {"media_id": msg.get("MediaId")}
    if kind == "location":
        return "location", msg.get("Label") or "[位置]", {"lat": msg.get("Location_X"), "lng": msg.get("Location_Y")}
    return "link", msg.get("Title") or "", {"url": msg.get("Url")}


@register
class WeChatOAConnector(WeChatConnector):
    kind = "wechat-oa"
    label, label_en = "微信公众号", "WeChat Official Account"
    contact_priority = 2
    capabilities = Capabilities(max_text_chars=600, reply_window=REPLY_WINDOW, two_way=True,
                                media=("text",), sends_per_second=50.0)
    secret_settings = ("secret", "token", "encoding_aes_key")
    required_settings = ("appid", "secret", "token")

    def __init__(self, account: str, settings: dict[str, Any], transport: Any = None) -> None:
        super().__init__(account, settings, transport)
        self.base_url = self.setting("base_url", "https://api.weixin.qq.com").rstrip("/")
        self.keep_token(f"oa:{self.setting('appid')}", f"{self.base_url}/cgi-bin/token",
                        {"grant_type": "client_credential", "appid": self.setting("appid", ""),
                         "secret": self.setting("secret", "")})

    # inbound ----------------------------------------------------------------------------------
    def echo(self, args: dict[str, str]) -> str:
        check_signed_query(args, self.setting("token", ""))
        return args["echostr"]

    def encrypted_only(self) -> bool:
        """An account with an EncodingAESKey (or set to safe mode) takes no plaintext callback:
        a plaintext body is signed by nobody, so it could be anyone's."""
        return bool(self.setting("encoding_aes_key")) or self.setting("mode") == "safe"

    def verify_inbound(self, request: InboundRequest) -> None:
        args = request.args
        # Every mode signs the query; safe/compatible mode also signs the ciphertext (below).
        check_signed_query(args, self.setting("token", ""))
        if args.get("encrypt_type") == "aes":
            outer = parse_xml(request.body)
            check_signature(args.get("msg_signature"), self.setting("token", ""), args.get("timestamp", ""),
                            args.get("nonce", ""), outer.get("Encrypt") or "")
        elif self.encrypted_only():
            raise InboundRejected("this account accepts only encrypted callbacks", 403)
        refuse_replayed_query(self.counters, f"{self.kind}:{self.setting('appid', '')}", args, request.body)

    def _message(self, request: InboundRequest) -> dict[str, Any]:
        outer = parse_xml(request.body)
        if request.args.get("encrypt_type") == "aes":
            if not self.setting("encoding_aes_key"):
                raise InboundRejected("encrypted callback but no EncodingAESKey configured", 400)
            outer = parse_xml(decrypt(self.setting("encoding_aes_key"), self.setting("appid", ""),
                                      outer.get("Encrypt") or ""))
        elif self.encrypted_only():
            raise InboundRejected("this account accepts only encrypted callbacks", 403)
        original_id = self.setting("original_id")
        if original_id and outer.get("ToUserName") != original_id:
            raise InboundRejected("message addressed to another account", 403)
        for key in ("FromUserName", "MsgType", "CreateTime"):
            if not isinstance(outer.get(key), str) or not outer[key]:
                raise InboundRejected(f"{key} missing", 400)
        return outer

    def parse_inbound(self, request: InboundRequest) -> list[InboundEvent]:
        msg = self._message(request)
        sender, msg_type = msg["FromUserName"], msg["MsgType"].lower()
        try:
            at = dt.datetime.fromtimestamp(int(msg["CreateTime"]), dt.timezone.utc)
        except ValueError:
            raise InboundRejected("CreateTime is not a number", 400) from None
        if msg_type in MESSAGE_TYPES:
            if not msg.get("MsgId"):
                raise InboundRejected("MsgId missing", 400)
            type_, body, payload = _body_of(msg)
            return [InboundEvent("message", sender, f"msg:{msg['MsgId']}", type=type_, body=body,
                                 payload={k: v for k, v in payload.items() if v}, at=at)]
        # Events carry no id; a retry repeats every field, two real events differ in some field.
        external_id = event_digest({k: v for k, v in msg.items() if isinstance(v, str)})
        if msg_type != "event":  # a type we do not show (yet): answered, kept as a receipt
            return [InboundEvent("ignored", sender, f"msg:{msg.get('MsgId') or external_id}", type=msg_type[:16], at=at)]
        event = (msg.get("Event") or "").lower()
        key = msg.get("EventKey") or ""
        if event == "subscribe":
            scene = key[len("qrscene_"):] if key.startswith("qrscene_") else None
            return [InboundEvent("subscribe", sender, external_id, clerk_ref=scene or None, at=at)]
        if event == "scan":
            return [InboundEvent("subscribe", sender, external_id, clerk_ref=key or None, at=at)]
        if event == "unsubscribe":
            return [InboundEvent("unsubscribe", sender, external_id, at=at)]
        if event == "templatesendjobfinish":
            status = "delivered" if msg.get("Status") == "success" else "failed"
            return [InboundEvent("status", str(msg.get("MsgID") or msg.get("MsgId") or ""), external_id,
                                 body=msg.get("Status") or "", payload={"status": status}, at=at)]
        if event in QUIET_EVENTS:
            return [InboundEvent("noop", sender, external_id, payload={"event": event}, at=at)]
        return [InboundEvent("ignored", sender, external_id, type="event", payload={"event": event[:60]}, at=at)]

    # outbound ---------------------------------------------------------------------------------
    def send(self, outbound: Outbound) -> SendResult:
        now = clock.now()  # the 48 h window opened at a business time (the stored inbound message)
        in_window = outbound.last_inbound_at is not None and now - outbound.last_inbound_at < REPLY_WINDOW
        quota_left = outbound.extra.get("sent_since_inbound", 0) < WINDOW_QUOTA
        if in_window and quota_left and outbound.purpose == "service":
            call_api(self.tokens, self.transport, "POST", f"{self.base_url}/cgi-bin/message/custom/send",
                     json_body={"touser": outbound.recipient, "msgtype": "text",
                                "text": {"content": outbound.body}})
            return SendResult()
        template_id = outbound.extra.get("template_id") or self.setting("template_id")
        if not template_id:
            why = "outside the 48-hour window" if not in_window else "window quota used"
            raise ConnectorError(f"{why} and no template configured", fallback=True, code="out_of_window")
        data = outbound.extra.get("template_data") or {
            self.setting("template_field", "thing1"): {"value": outbound.body[:20]}}
        result = call_api(self.tokens, self.transport, "POST", f"{self.base_url}/cgi-bin/message/template/send",
                          json_body={"touser": outbound.recipient, "template_id": template_id,
                                     "url": outbound.extra.get("url") or self.setting("template_url", ""),
                                     "data": data, "client_msg_id": outbound.idempotency_key[:64]})
        return SendResult(provider_message_id=str(result.get("msgid")) if result.get("msgid") else None)
