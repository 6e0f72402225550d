"""SMS through a provider interface over HTTP; Aliyun SMS (阿里云短信) is the provider implemented.

Rules of Chinese SMS the connector keeps:
- the brand signature 【品牌】 is part of the text the customer sees (Aliyun adds ``SignName``);
- marketing texts end with the opt-out suffix 回T退订; an inbound T / TD / 退订 is an opt-out;
- a text of up to 70 characters is one segment; a longer one is split into parts of 67
  (the rest of each part carries the concatenation header), and every part is billed.

Aliyun SendSms (RPC signature v1, HMAC-SHA1): https://help.aliyun.com/zh/sms/developer-reference/api-dysmsapi-2017-05-25-sendsms
QuerySendDetails: https://help.aliyun.com/zh/sms/developer-reference/api-dysmsapi-2017-05-25-querysenddetails
Delivery receipts and replies (HTTP push, SmsReport / SmsUp): https://help.aliyun.com/zh/sms/developer-reference/configure-delivery-receipts-1
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import math
import re
import uuid
from typing import Any
from urllib.parse import quote

from connectors.base import (Capabilities, Connector, ConnectorError, InboundEvent, InboundRejected,
                             InboundRequest, Outbound, SendResult, check_callback_token, event_digest,
                             http_call, json_body, json_of, register)

SINGLE_SEGMENT_CHARS = 70
PART_CHARS = 67
MAX_SEGMENTS = 10
OPT_OUT_SUFFIX = "回T退订"
OPT_OUT_WORDS = {"T", "TD", "退订"}
PHONE = re.compile(r"^(\+?86)?1\d{10}$")

# Aliyun error codes as data: https://help.aliyun.com/zh/sms/developer-reference/api-error-codes
RETRYABLE_CODES = {"isp.SYSTEM_ERROR", "isp.RAM_PERMISSION_DENY", "Throttling.User", "ServiceUnavailable",
                   "isv.BUSINESS_LIMIT_CONTROL"}
RATE_LIMITED_CODES = {"isv.BUSINESS_LIMIT_CONTROL", "Throttling.User"}
RATE_LIMIT_BACKOFF_SECONDS = 60.0


def segments(text: str) -> int:
    """Billed segments of an SMS text (signature and suffix included)."""
    n = len(text)
    return 1 if n <= SINGLE_SEGMENT_CHARS else math.ceil(n / PART_CHARS)


def compose(body: str, brand: str, purpose: str) -> str:
    """The text the customer sees: 【brand】body, plus 回T退订 on marketing."""
    text = f"【{brand}】{body.strip()}"
    if purpose == "marketing" and not text.endswith(OPT_OUT_SUFFIX):
        text = f"{text} {OPT_OUT_SUFFIX}"
    return text


def percent_encode(value: str) -> str:
    return quote(value, safe="~")


def rpc_signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    """Aliyun RPC signature v1: HMAC-SHA1 over METHOD&%2F&encode(sorted, encoded query)."""
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class SmsProvider:
    """What an SMS provider offers the connector: send one text, look up one send."""

    def send(self, phone: str, text: str, out_id: str, purpose: str) -> str:
        raise NotImplementedError

    def lookup(self, phone: str, out_id: str, on: dt.date) -> str | None:
        """``sent``, ``not_sent`` or None."""
        raise NotImplementedError


class AliyunSms(SmsProvider):
    def __init__(self, settings: dict[str, Any], transport: Any) -> None:
        self.settings = settings
        self.transport = transport
        self.endpoint = (settings.get("base_url") or "https://dysmsapi.aliyuncs.com").rstrip("/") + "/"

    def _call(self, action: str, params: dict[str, str]) -> dict[str, Any]:
        full = {"AccessKeyId": self.settings["access_key_id"], "Action": action, "Format": "JSON",
                "RegionId": self.settings.get("region", "cn-hangzhou"), "SignatureMethod": "HMAC-SHA1",
                "SignatureNonce": uuid.uuid4().hex, "SignatureVersion": "1.0",
                "Timestamp": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "Version": "2017-05-25", **params}
        full["Signature"] = rpc_signature(full, self.settings["access_key_secret"])
        response = http_call(self.transport, "POST", self.endpoint, data=full,
                             timeout=(3.05, float(self.settings.get("timeout", 10))))
        data = json_of(response)
        code = data.get("Code")
        if code != "OK":
            raise ConnectorError(f"aliyun {code}: {data.get('Message', '')}", code=code,
                                 retryable=code in RETRYABLE_CODES,
                                 retry_after=RATE_LIMIT_BACKOFF_SECONDS if code in RATE_LIMITED_CODES else None)
        return data

    def send(self, phone: str, text: str, out_id: str, purpose: str) -> str:
        template = self.settings.get(f"{purpose}_template_code") or self.settings["template_code"]
        body = text[len(f"【{self.settings['sign_name']}】"):]  # Aliyun prepends the signature itself
        data = self._call("SendSms", {
            "PhoneNumbers": phone, "SignName": self.settings["sign_name"], "TemplateCode": template,
            "TemplateParam": json.dumps({self.settings.get("template_param", "content"): body}, ensure_ascii=False),
            "OutId": out_id})
        return str(data.get("BizId") or "")

    def lookup(self, phone: str, out_id: str, on: dt.date) -> str | None:
        data = self._call("QuerySendDetails", {"PhoneNumber": phone, "SendDate": on.strftime("%Y%m%d"),
                                               "PageSize": "50", "CurrentPage": "1"})
        details = (data.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
        for row in details:
            if row.get("OutId") == out_id:
                # SendStatus 1 waiting, 2 failed, 3 delivered: a failed one may be sent again.
                return "not_sent" if int(row.get("SendStatus", 0)) == 2 else "sent"
        return None  # not listed (yet): records appear with a delay, so absence proves nothing


PROVIDERS = {"aliyun": AliyunSms}


@register
class SmsConnector(Connector):
    kind = "sms"
    label, label_en = "短信", "SMS"
    contact_priority = 3
    address_field = "phone"
    capabilities = Capabilities(max_text_chars=PART_CHARS * MAX_SEGMENTS, two_way=True, media=("text",),
                                sends_per_second=20.0)
    secret_settings = ("access_key_secret", "callback_token")
    required_settings = ("access_key_id", "access_key_secret", "sign_name", "template_code")

    def __init__(self, account: str, settings: dict[str, Any], transport: Any = None) -> None:
        super().__init__(account, settings, transport)
        self.provider: SmsProvider = PROVIDERS[self.setting("provider", "aliyun")](settings, self.transport)

    # inbound: Aliyun pushes delivery reports (SmsReport) and replies (SmsUp) as JSON arrays.
    def verify_inbound(self, request: InboundRequest) -> None:
        # Aliyun's HTTP push is not signed: the URL we register carries a secret token.
        check_callback_token(request, self.setting("callback_token", ""))

    def parse_inbound(self, request: InboundRequest) -> list[InboundEvent]:
        items = json_body(request)
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            raise InboundRejected("body must be a non-empty JSON array of objects", 400)
        return [self._event(i, item) for i, item in enumerate(items)]

    def _event(self, i: int, item: dict[str, Any]) -> InboundEvent:
        phone = str(item.get("phone_number") or "")
        if not PHONE.match(phone):
            raise InboundRejected(f"[{i}].phone_number: a mainland mobile number", 400)
        if "content" in item:  # a reply (SmsUp)
            text = str(item["content"]).strip()
            kind = "opt_out" if text.upper() in OPT_OUT_WORDS else "message"
            ref = item.get("sequence_id") or event_digest(item)
            return InboundEvent(kind, phone[-11:], f"up:{ref}", body=text[:2000], at=_china_time(item.get("send_time")))
        if "success" in item and item.get("biz_id"):  # a delivery report (SmsReport)
            ok = item["success"] in (True, "true")
            return InboundEvent("status", str(item["biz_id"]), f"report:{item['biz_id']}:{phone}",
                                body=f"{item.get('err_code', '')} {item.get('err_msg', '')}".strip(),
                                payload={"status": "delivered" if ok else "failed"})
        raise InboundRejected(f"[{i}]: neither a reply nor a delivery report", 400)

    def acknowledge(self, request: InboundRequest, events: list[InboundEvent]) -> tuple[str, str]:
        return json.dumps({"code": 0, "msg": "成功"}, ensure_ascii=False), "application/json"

    # outbound ---------------------------------------------------------------------------------
    def send(self, outbound: Outbound) -> SendResult:
        phone = outbound.recipient.replace(" ", "")
        if not PHONE.match(phone):
            raise ConnectorError(f"not a mobile number: {outbound.recipient!r}", code="bad_number")
        text = compose(outbound.body, self.setting("sign_name", ""), outbound.purpose)
        if segments(text) > MAX_SEGMENTS:
            raise ConnectorError(f"text needs {segments(text)} segments (at most {MAX_SEGMENTS})", code="too_long")
        biz_id = self.provider.send(phone[-11:], text, outbound.idempotency_key[:64], outbound.purpose)
        return SendResult(provider_message_id=biz_id or None)

    def query_status(self, outbound: Outbound, provider_message_id: str | None) -> str | None:
        today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()  # Aliyun's SendDate is Beijing time
        return self.provider.lookup(outbound.recipient[-11:], outbound.idempotency_key[:64], today)


def _china_time(value: Any) -> dt.datetime | None:
    try:
        local = dt.datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return local.replace(tzinfo=dt.timezone(dt.timedelta(hours=8))).astimezone(dt.timezone.utc)
