"""E-mail over SMTP with STARTTLS against a real aiosmtpd server: List-Unsubscribe, bounces at
send time and as delivery status notifications, and the done-when proofs."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import smtplib
import ssl

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from connectors.base import ConnectorError, InboundRejected, InboundRequest, Outbound
from connectors.email import EmailConnector, message_id
from models import Message, MessageStatus
from tests.connectors import proofs
from tests.connectors.conftest import expectations, load_fixture
from tests.services import free_port

CALLBACK_TOKEN = "mail-pipe-secret"


def _self_signed(tmp_path_factory) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


class Mailbox:
    """The SMTP server's behaviour: store mail, refuse some recipients, fail on demand."""

    def __init__(self) -> None:
        self.received: list[email.message.EmailMessage] = []
        self.refuse: dict[str, str] = {"nobody@example.org": "550 5.1.1 User unknown",
                                       "full@example.org": "452 4.2.2 Mailbox full"}
        self.fail_data: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if not session.ssl:
            return "530 5.7.0 Must issue a STARTTLS command first"
        self.received.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        if self.fail_data:
            return self.fail_data.pop(0)
        return "250 Message accepted for delivery"


@pytest.fixture(scope="module")
def smtp_server(tmp_path_factory):
    cert, key = _self_signed(tmp_path_factory)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), tls_context=context,
                            require_starttls=True)
    controller.start()
    yield mailbox, controller, cert
    controller.stop()


@pytest.fixture
def smtp(smtp_server):
    mailbox, controller, cert = smtp_server
    mailbox.received.clear()
    mailbox.fail_data.clear()
    return mailbox, {"host": "localhost", "port": str(controller.port), "from_addr": "crm@brand.example.com",
                     "ca_file": cert, "timeout": "2", "callback_token": CALLBACK_TOKEN,
                     "unsubscribe_url": "https://brand.example.com/u?r={recipient}&k={key}",
                     "unsubscribe_mailto": "unsubscribe@brand.example.com"}


def test_mail_goes_out_over_starttls_with_list_unsubscribe(smtp):
    mailbox, settings = smtp
    result = EmailConnector("mail", settings).send(
        Outbound("msg:9", "lin@example.org", "text", "新品到店，欢迎试用", purpose="marketing"))
    [mail] = mailbox.received
    assert mail["Message-ID"] == result.provider_message_id == message_id("msg:9", "brand.example.com")
    assert "<https://brand.example.com/u?r=lin@example.org&k=msg:9>" in mail["List-Unsubscribe"]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "退订 / Unsubscribe: https://brand.example.com/u" in mail.get_content()


def test_a_server_without_starttls_is_refused(smtp):
    mailbox, settings = smtp
    with pytest.raises(ConnectorError):
        EmailConnector("mail", {**settings, "starttls": "0"}).send(Outbound("k", "a@example.org", "text", "x"))
    assert not mailbox.received


@pytest.mark.parametrize("rcpt, retryable, code", [("nobody@example.org", False, "bounced"),
                                                   ("full@example.org", True, 452)])
def test_refused_recipients_are_bounces_or_deferrals(smtp, rcpt, retryable, code):
    _, settings = smtp
    with pytest.raises(ConnectorError) as err:
        EmailConnector("mail", settings).send(Outbound("k", rcpt, "text", "x"))
    assert err.value.retryable is retryable and err.value.code == code


def test_a_closed_port_is_retryable_and_not_maybe_sent(smtp):
    _, settings = smtp
    with pytest.raises(ConnectorError) as err:
        EmailConnector("mail", {**settings, "port": str(free_port())}).send(Outbound("k", "a@example.org", "text", "x"))
    assert err.value.retryable and not err.value.maybe_sent


@pytest.mark.parametrize("name", sorted(expectations("email")))
def test_recorded_delivery_status_notifications_parse(name, smtp):
    _, settings = smtp
    req = InboundRequest("POST", {"token": CALLBACK_TOKEN}, {}, load_fixture(f"email/{name}").encode())
    conn = EmailConnector("mail", settings)
    conn.verify_inbound(req)
    [event] = conn.parse_inbound(req)
    for key, want in expectations("email")[name].items():
        assert getattr(event, key) == want


@pytest.mark.parametrize("query, body", [({"token": "x"}, load_fixture("email/dsn_failed.eml")),
                                         ({"token": CALLBACK_TOKEN}, "Subject: hi\n\nplain mail")])
def test_bad_bounce_posts_are_rejected(smtp, query, body):
    _, settings = smtp
    conn = EmailConnector("mail", settings)
    with pytest.raises(InboundRejected):
        req = InboundRequest("POST", query, {}, body.encode())
        conn.verify_inbound(req)
        conn.parse_inbound(req)


# through the app ------------------------------------------------------------------------------
def test_bounces_are_recorded_on_the_message(app, client, db, add_channel, clock, smtp):
    mailbox, settings = smtp
    add_channel("email", "mail", **settings)
    [refused, accepted] = proofs.queue_messages(app, db, "email", 2,
                                                recipient=lambda i: ["nobody@example.org", "lin@example.org"][i])
    with db.Session() as s:
        msg = s.get(Message, refused)
        assert msg.status == MessageStatus.failed and "550" in msg.error
        sent = s.get(Message, accepted)
        assert sent.status == MessageStatus.sent
    dsn = load_fixture("email/dsn_failed.eml").replace("<msg-1@brand.example.com>",
                                                       message_id(f"msg:{accepted}", "brand.example.com"))
    for _ in range(2):
        resp = client.post("/channels/email/mail", query_string={"token": CALLBACK_TOKEN}, data=dsn.encode())
        assert resp.status_code == 200
    with db.Session() as s:
        bounced = s.get(Message, accepted)
        assert bounced.status == MessageStatus.failed and "5.1.1" in bounced.error


def test_email_outage_then_recovery_delivers_each_once(app, db, clock, add_channel, smtp):
    mailbox, settings = smtp
    # The send-rate bucket runs on real time while this test's clock is simulated: dozens of
    # sweeps pass in milliseconds, so the default 10/s would defer rows depending on machine speed.
    add_channel("email", "mail", **settings, rate_per_second="10000")

    def outage():
        mailbox.fail_data[:] = ["421 4.3.0 Service not available"] * 50
    proofs.outage_then_recovery(app, db, clock, outage, n=4, channel="email",
                                recipient=lambda i: f"c{i}@example.org")
    mailbox.fail_data.clear()
    mailbox.received.clear()  # the server kept nothing it answered 421 to
    proofs.drain(app, clock)
    assert proofs.states(db) == {"sent": 4}
    assert sorted(m["To"] for m in mailbox.received) == [f"c{i}@example.org" for i in range(4)]


def test_email_killed_dispatcher_holds_the_in_flight_mail(app, db, clock, add_channel, smtp, monkeypatch):
    mailbox, settings = smtp
    add_channel("email", "mail", **settings)
    sent_before_kill = {"left": 1}
    real_send = smtplib.SMTP.send_message

    def send_then_maybe_die(self, msg, *a, **kw):
        result = real_send(self, msg, *a, **kw)
        if sent_before_kill["left"] == 0:
            raise proofs.DispatcherKilled()
        sent_before_kill["left"] -= 1
        return result

    monkeypatch.setattr(smtplib.SMTP, "send_message", send_then_maybe_die)
    app.config["JOBS_MODE"] = "sync"
    from app import jobs
    from app.channels import dispatch
    runner = jobs.runner(app)
    monkeypatch.setattr(runner, "enqueue", lambda fn, *a, **k: None)
    proofs.queue_messages(app, db, "email", 4, recipient=lambda i: f"k{i}@example.org")
    with app.app_context():
        with pytest.raises(proofs.DispatcherKilled):
            dispatch.dispatch_due()
        monkeypatch.setattr(smtplib.SMTP, "send_message", real_send)
        clock.advance(dispatch.CLAIM_SECONDS + 1)
        dispatch.sweep_outbox()
    assert proofs.states(db) == {"sent": 3, "unknown": 1}
    assert sorted(m["To"] for m in mailbox.received) == [f"k{i}@example.org" for i in range(4)]
    with db.Session() as s:
        held = s.scalars(select(Message).where(Message.error.isnot(None))).one()
        assert held.status == MessageStatus.queued and "未知" in held.error
