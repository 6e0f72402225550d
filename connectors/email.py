"""E-mail over SMTP with STARTTLS, a List-Unsubscribe header and link, and bounces recorded.

A recipient the server refuses permanently (5xx) is a bounce: the send is final and the clerk
sees why. Later bounces arrive as delivery status notifications (RFC 3464); a mail pipe posts
them to ``/channels/email/<account>?token=…`` and they mark the original message failed.
One-click unsubscribe: RFC 8058.
"""
from __future__ import annotations

import email.policy
import smtplib
import socket
import ssl
from email import message_from_bytes
from email.message import EmailMessage
from email.utils import formatdate

from connectors.base import (Capabilities, Connector, ConnectorError, InboundEvent, InboundRejected,
                             InboundRequest, Outbound, SendResult, check_callback_token, event_digest, register)


def message_id(idempotency_key: str, domain: str) -> str:
    """A Message-ID made from the idempotency key: a resend is recognisably the same message."""
    safe = "".join(ch if ch.isalnum() or ch in "-._" else "-" for ch in idempotency_key)
    return f"<{safe}@{domain}>"


@register
class EmailConnector(Connector):
    kind = "email"
    label, label_en = "邮件", "Email"
    contact_priority = 4
    address_field = "email"
    capabilities = Capabilities(max_text_chars=20000, two_way=False, media=("text",), sends_per_second=10.0)
    secret_settings = ("password", "callback_token")
    required_settings = ("host", "from_addr")

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.setting("ca_file"))
        return context

    def build(self, outbound: Outbound) -> EmailMessage:
        sender = self.setting("from_addr")
        domain = sender.rsplit("@", 1)[-1]
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = outbound.recipient
        msg["Subject"] = outbound.extra.get("subject") or self.setting("subject", "来自您的专属导购")
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = message_id(outbound.idempotency_key, domain)
        body = outbound.body
        unsubscribe_url = self.setting("unsubscribe_url", "")
        if unsubscribe_url:
            link = unsubscribe_url.format(recipient=outbound.recipient, key=outbound.idempotency_key)
            targets = [f"<{link}>"]
            if self.setting("unsubscribe_mailto"):
                targets.insert(0, f"<mailto:{self.setting('unsubscribe_mailto')}?subject=unsubscribe>")
            msg["List-Unsubscribe"] = ", ".join(targets)
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            body = f"{body}\n\n--\n退订 / Unsubscribe: {link}"
        msg.set_content(body)
        return msg

    def send(self, outbound: Outbound) -> SendResult:
        msg = self.build(outbound)
        port = int(self.setting("port", 587))
        timeout = float(self.setting("timeout", 10))
        stage = "connect"
        try:
            with smtplib.SMTP(self.setting("host"), port, timeout=timeout) as smtp:
                stage = "starttls"
                smtp.ehlo()
                if self.setting("starttls", "1") == "1":
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
                if self.setting("username"):
                    smtp.login(self.setting("username"), self.setting("password", ""))
                stage = "data"
                smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reason = next(iter(exc.recipients.values()))
            if 500 <= code < 600:
                raise ConnectorError(f"bounced: {code} {reason.decode(errors='replace')}", code="bounced") from exc
            raise ConnectorError(f"recipient deferred: {code}", retryable=True, code=code) from exc
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise ConnectorError(f"smtp {exc.smtp_code} (try later)", retryable=True, code=exc.smtp_code) from exc
            raise ConnectorError(f"smtp {exc.smtp_code}: {exc.smtp_error!r}", code=exc.smtp_code) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise ConnectorError("the SMTP server does not offer STARTTLS", code="no_starttls") from exc
        except (smtplib.SMTPServerDisconnected, socket.timeout, TimeoutError, ConnectionError, ssl.SSLError,
                OSError) as exc:
            # Once DATA went out, a dropped connection or a missing answer may still be a delivery.
            raise ConnectorError(f"smtp {stage} failed: {type(exc).__name__}", retryable=True,
                                 maybe_sent=stage == "data") from exc
        return SendResult(provider_message_id=msg["Message-ID"])

    # inbound: delivery status notifications (bounces) piped in by the mail server
    def verify_inbound(self, request: InboundRequest) -> None:
        check_callback_token(request, self.setting("callback_token", ""))

    def parse_inbound(self, request: InboundRequest) -> list[InboundEvent]:
        report = message_from_bytes(request.body, policy=email.policy.default)
        if report.get_content_type() != "multipart/report":
            raise InboundRejected("not a delivery status notification (multipart/report)", 400)
        status_part = original = None
        for part in report.walk():
            if part.get_content_type() == "message/delivery-status":
                status_part = part
            elif part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
                original = part
        if status_part is None or original is None:
            raise InboundRejected("report without delivery status or original headers", 400)
        fields: dict[str, str] = {}
        for block in status_part.get_payload():
            for key, value in block.items():
                fields[key.lower()] = str(value)
        headers = original.get_payload()[0] if original.get_content_type() == "message/rfc822" \
            else message_from_bytes(original.get_payload(decode=True) or b"")
        original_id = str(headers.get("Message-ID", "")).strip()
        if fields.get("action", "").lower() != "failed" or not original_id:
            return [InboundEvent("noop", original_id or "-", event_digest(fields))]
        reason = f"bounced: {fields.get('status', '')} {fields.get('diagnostic-code', '')}".strip()
        return [InboundEvent("status", original_id, event_digest({**fields, "id": original_id}),
                             body=reason[:255], payload={"status": "failed"})]
