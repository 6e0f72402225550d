"""WeCom (企业微信) external contacts: who added which clerk, and mass messages to them.

Callbacks are always encrypted and signed over the ciphertext (``msg_signature``); the corpid
inside the ciphertext must be ours. ``change_external_contact`` events (add / edit / delete, and
the customer deleting the clerk) become follower-binding changes; every event comes from ``sys``,
so retries are recognised by all of the event's fields. Outbound goes through
``externalcontact/add_msg_template``: the clerk confirms it in WeCom, and the platform lets a
customer receive about one such message a day.

Callback crypto: https://developer.work.weixin.qq.com/document/path/90968
Contact change events: https://developer.work.weixin.qq.com/document/path/92130
add_msg_template: https://developer.work.weixin.qq.com/document/path/92135
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from connectors.base import (Capabilities, ConnectorError, InboundEvent, InboundRejected,
                             InboundRequest, Outbound, SendResult, event_digest, register)
from connectors.wechat_common import WeChatConnector, call_api, check_signed_query, decrypt, parse_xml

MASS_PER_CUSTOMER_PER_DAY = 1
CONTACT_CHANGES = {
    "add_external_contact": "contact_added",
    "add_half_external_contact": "contact_added",
    "edit_external_contact": "contact_edited",
    "del_external_contact": "contact_removed",   # the clerk deleted the customer
    "del_follow_user": "contact_deleted",        # the customer deleted the clerk: a signal
    "transfer_fail": "noop",
}
STAFF_NOTICE = "staff_notice"  # an app message to clerks, not a customer message
QUIET_EVENTS = {"change_external_chat", "change_external_tag", "enter_agent", "view", "click", "location"}


class WeComCallback(WeChatConnector):
    """The WeCom callback protocol, shared by external contacts and 微信客服."""

    secret_settings = ("secret", "token", "encoding_aes_key")
    required_settings = ("corpid", "secret", "token", "encoding_aes_key")

    def __init__(self, account: str, settings: dict[str, Any], transport: Any = None) -> None:
        super().__init__(account, settings, transport)
        self.base_url = self.setting("base_url", "https://qyapi.weixin.qq.com").rstrip("/")
        corpid = self.setting("corpid", "")
        self.keep_token(f"wecom:{corpid}:{self.kind}:{self.account}", f"{self.base_url}/cgi-bin/gettoken",
                        {"corpid": corpid, "corpsecret": self.setting("secret", "")})

    def echo(self, args: dict[str, str]) -> str:
        check_signed_query(args, self.setting("token", ""), args["echostr"], key="msg_signature")
        return decrypt(self.setting("encoding_aes_key", ""), self.setting("corpid", ""), args["echostr"])

    def verify_inbound(self, request: InboundRequest) -> None:
        args = request.args
        outer = parse_xml(request.body)
        check_signed_query(args, self.setting("token", ""), outer.get("Encrypt") or "", key="msg_signature")

    def decrypted(self, request: InboundRequest) -> dict[str, Any]:
        outer = parse_xml(request.body)
        msg = parse_xml(decrypt(self.setting("encoding_aes_key", ""), self.setting("corpid", ""),
                                outer.get("Encrypt") or ""))
        if msg.get("ToUserName") != self.setting("corpid"):
            raise InboundRejected("event addressed to another corpid", 403)
        if not msg.get("MsgType"):
            raise InboundRejected("MsgType missing", 400)
        return msg

    @staticmethod
    def at(msg: dict[str, Any]) -> dt.datetime | None:
        try:
            return dt.datetime.fromtimestamp(int(msg.get("CreateTime") or ""), dt.timezone.utc)
        except ValueError:
            raise InboundRejected("CreateTime is not a number", 400) from None


@register
class WeComConnector(WeComCallback):
    kind = "wecom"
    label, label_en = "企业微信", "WeCom"
    contact_priority = 1
    capabilities = Capabilities(max_text_chars=4000, two_way=False, media=("text",), sends_per_second=20.0)

    def parse_inbound(self, request: InboundRequest) -> list[InboundEvent]:
        msg = self.decrypted(request)
        at = self.at(msg)
        event = msg.get("Event") or ""
        external_id = event_digest({k: v for k, v in msg.items() if isinstance(v, str)})
        if msg["MsgType"] != "event":
            # A member writing to the app itself (text, image, location…): answered, kept as a receipt.
            return [InboundEvent("ignored", msg.get("FromUserName") or "-", f"msg:{msg.get('MsgId') or external_id}",
                                 type=str(msg["MsgType"])[:16], at=at)]
        if event == "change_external_contact":
            change = CONTACT_CHANGES.get(msg.get("ChangeType") or "")
            if change is None:
                return [InboundEvent("ignored", msg.get("ExternalUserID") or "-", external_id, type="event",
                                     payload={"event": f"{event}:{msg.get('ChangeType')}"[:60]}, at=at)]
            if change == "noop":
                return [InboundEvent("noop", msg.get("ExternalUserID") or "-", external_id, at=at)]
            if not msg.get("ExternalUserID") or not msg.get("UserID"):
                raise InboundRejected("ExternalUserID and UserID are required", 400)
            return [InboundEvent(change, msg["ExternalUserID"], external_id, clerk_ref=msg["UserID"], at=at,
                                 payload={"state": msg.get("State")} if msg.get("State") else {})]
        if event == "kf_msg_or_event" and self.setting("kf_account") and msg.get("Token"):
            # WeCom sends 微信客服's push to the app 微信客服 is bound to: pull from that account.
            return [InboundEvent("sync", msg.get("OpenKfId") or "-", external_id, at=at,
                                 payload={"token": msg["Token"], "kf_account": self.setting("kf_account")})]
        if event in QUIET_EVENTS:
            return [InboundEvent("noop", msg.get("ExternalUserID") or msg.get("FromUserName") or "-",
                                 external_id, payload={"event": event}, at=at)]
        return [InboundEvent("ignored", msg.get("FromUserName") or "-", external_id, type="event",
                             payload={"event": event[:60]}, at=at)]

    def send(self, outbound: Outbound) -> SendResult:
        if outbound.type == STAFF_NOTICE:
            return self._notify_staff(outbound)
        if outbound.extra.get("sent_last_day", 0) >= MASS_PER_CUSTOMER_PER_DAY:
            raise ConnectorError("this customer already had today's WeCom message", retryable=True,
                                 code="daily_cap", retry_after=6 * 3600)
        body: dict[str, Any] = {"chat_type": "single", "external_userid": [outbound.recipient],
                                "text": {"content": outbound.body}}
        if outbound.extra.get("clerk_ref"):
            body["sender"] = outbound.extra["clerk_ref"]
        data = call_api(self.tokens, self.transport, "POST",
                        f"{self.base_url}/cgi-bin/externalcontact/add_msg_template", json_body=body)
        if outbound.recipient in (data.get("fail_list") or []):
            raise ConnectorError("WeCom cannot reach this contact (not a friend of the sender, or capped)",
                                 fallback=True, code="fail_list")
        return SendResult(provider_message_id=data.get("msgid"))

    def _notify_staff(self, outbound: Outbound) -> SendResult:
        """An app message to clerks (``message/send``, recipients joined by ``|``): a text card
        linking into the console when the deployment has a public URL, else plain text."""
        agentid = str(self.setting("agentid") or "")
        if not agentid.isdigit():
            raise ConnectorError("no agentid (a number) configured for staff notices", code="no_agentid")
        url = outbound.extra.get("url")
        body: dict[str, Any] = {"touser": outbound.recipient, "agentid": int(agentid),
                                "enable_duplicate_check": 1, "duplicate_check_interval": 60}
        if url:
            body.update(msgtype="textcard", textcard={"title": outbound.body[:60], "url": url, "btntxt": "去回复",
                                                      "description": str(outbound.extra.get("description", ""))[:200]})
        else:
            body.update(msgtype="text", text={"content": outbound.body[:500]})
        data = call_api(self.tokens, self.transport, "POST", f"{self.base_url}/cgi-bin/message/send", json_body=body)
        return SendResult(provider_message_id=str(data.get("msgid")) if data.get("msgid") else None)
