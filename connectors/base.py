"""The contract every channel implements, typed errors, the HTTP seam and the registry.

A connector knows one vendor protocol. It never imports ``app``: it receives its account
settings and an HTTP transport (a ``requests.Session``-like object; tests inject one pointed at
a local fake server), and it returns plain data. The connector classes are the only place the
app learns which channels exist (``connectors.registry`` reads them). What a channel must declare
and implement:

- ``kind``, ``label`` and ``label_en``: its name on the wire and for people (zh-CN, English);
- ``capabilities``: length limit, reply window, whether it carries two-way chat, media types,
  whether campaigns may mass-send over it, its send rate and whether a send it may have made
  can be retried safely;
- ``required_settings`` and ``secret_settings`` (the account settings; secrets stored sealed),
  ``callback`` (the vendor calls ``/channels/<kind>/<account>``), ``contact_priority`` (its place
  in the default contact order, or None), ``address_field`` (the customer column that is the
  address, for channels that need no binding) and ``needs_account``;
- ``verify_inbound(request)`` → raise ``InboundRejected`` (bad signature, stale, replay…);
- ``parse_inbound(request)`` → a list of ``InboundEvent`` (after ``verify_inbound`` passed);
- ``acknowledge(request, events)`` → the HTTP answer the vendor expects (``success``…);
- ``send(outbound)`` → ``SendResult``; raise ``ConnectorError(retryable=…, maybe_sent=…)``;
- optionally ``handshake(request)`` (URL verification) and ``query_status(outbound, provider_id)``
  to settle a send whose outcome is unknown.

Shared state comes in the same way as the transport: the app hands every connector its
sliding-window counters (``use_counters``: in-process in the embedded mode, Redis when scaled
out) for what all processes must agree on, such as callback nonces already seen.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

import requests


@dataclass(frozen=True)
class Capabilities:
    max_text_chars: int | None = None
    reply_window: dt.timedelta | None = None  # free-form replies only inside this window
    two_way: bool = True
    media: tuple[str, ...] = ("text",)
    sends_per_second: float = 50.0  # our own cap per account, below the vendor's limit
    # True when the vendor de-duplicates on our idempotency key, so a send whose outcome is
    # unknown (killed dispatcher, read timeout) may be retried without risking a duplicate.
    idempotent_sends: bool = False
    mass_send: bool = True  # head office may run campaigns over it


@dataclass(frozen=True)
class InboundRequest:
    """What a connector sees of an HTTP callback: no Flask objects cross this line."""

    method: str
    args: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class InboundEvent:
    """One message or event parsed from a callback.

    ``kind``: message · subscribe · unsubscribe · contact_added · contact_edited ·
    contact_deleted (the customer deleted the clerk) · contact_removed (the clerk deleted the
    customer) · opt_out · status (a delivery report) · sync (fetch messages from the vendor) ·
    noop (a known event we do not act on) · ignored (a type or event we do not know: the vendor
    still gets its usual answer, and the receipt keeps the type for the channel's health page).
    """

    kind: str
    sender: str  # the channel's id of the customer (openid, external_userid, phone, e-mail…)
    external_id: str  # unique per channel: MsgId, or a digest of the event's own fields
    type: str = "text"
    body: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    clerk_ref: str | None = None  # the channel's id of the clerk, when it names one
    at: dt.datetime | None = None


@dataclass(frozen=True)
class Outbound:
    idempotency_key: str
    recipient: str
    type: str
    body: str
    purpose: str = "service"
    extra: dict[str, Any] = field(default_factory=dict)
    # When the customer last wrote to us on this channel: opens the reply window.
    last_inbound_at: dt.datetime | None = None


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str | None = None
    delivered: bool = False  # the channel confirmed delivery synchronously


class ConnectorError(Exception):
    """A send or API call failed.

    ``retryable``: trying again later may work (5xx, rate limit, token refresh).
    ``maybe_sent``: the request may have reached the vendor (read timeout): never blindly resend.
    ``fallback``: this channel cannot deliver now (out of window, quota): try another channel.
    ``retry_after``: seconds the vendor asked us to wait (rate limited).
    """

    def __init__(self, message: str, *, retryable: bool = False, maybe_sent: bool = False,
                 fallback: bool = False, code: str | int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.maybe_sent = maybe_sent
        self.fallback = fallback
        self.code = code
        self.retry_after = retry_after


class InboundRejected(Exception):
    """A callback that must not be trusted; ``status`` is the HTTP answer (always 4xx)."""

    def __init__(self, reason: str, status: int = 403) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


DEFAULT_TIMEOUT = (3.05, 10.0)  # (connect, read) seconds


def http_call(transport: Any, method: str, url: str, *, timeout: Any = DEFAULT_TIMEOUT,
              **kwargs: Any) -> requests.Response:
    """One HTTP request with network failures turned into typed ``ConnectorError``.

    A failure to connect means nothing reached the vendor (safe to retry). A read timeout or a
    connection dropped after the request went out means it may have been acted on: maybe_sent.
    """
    try:
        return transport.request(method, url, timeout=timeout, **kwargs)
    except (requests.ConnectTimeout, requests.exceptions.SSLError) as exc:
        raise ConnectorError(f"cannot connect: {type(exc).__name__}", retryable=True) from exc
    except requests.ReadTimeout as exc:
        raise ConnectorError("no answer in time (may have been sent)", retryable=True,
                             maybe_sent=True) from exc
    except requests.ConnectionError as exc:
        if _never_connected(exc):
            raise ConnectorError("connection refused", retryable=True) from exc
        raise ConnectorError("connection dropped (may have been sent)", retryable=True,
                             maybe_sent=True) from exc
    except requests.RequestException as exc:
        raise ConnectorError(f"http error: {type(exc).__name__}", retryable=True,
                             maybe_sent=True) from exc


def _never_connected(exc: requests.ConnectionError) -> bool:
    import urllib3.exceptions as u3

    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, (u3.NewConnectionError, u3.NameResolutionError, ConnectionRefusedError))


def json_of(response: requests.Response) -> dict[str, Any]:
    """The JSON body of a vendor answer; 5xx and non-JSON answers are retryable errors."""
    if response.status_code >= 500 or response.status_code == 429:
        raise ConnectorError(f"upstream {response.status_code}", retryable=True,
                             maybe_sent=response.status_code not in (429, 502, 503),
                             code=response.status_code)
    try:
        data = response.json()
    except ValueError:
        raise ConnectorError(f"upstream answered {response.status_code} without JSON",
                             retryable=response.status_code >= 400, code=response.status_code) from None
    if not isinstance(data, dict):
        raise ConnectorError("upstream answered a non-object", code=response.status_code)
    return data


def check_callback_token(request: InboundRequest, expected: str) -> None:
    """Refuse a callback whose ``?token=`` is not the account's secret (vendors that sign nothing)."""
    if not expected or not hmac.compare_digest(request.args.get("token", ""), expected):
        raise InboundRejected("bad callback token", 403)


def json_body(request: InboundRequest) -> Any:
    """The callback's body as JSON; a body that is not JSON is refused (400)."""
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise InboundRejected("body is not JSON", 400) from None


def event_digest(fields: dict[str, Any]) -> str:
    """A stable id for an event that has no id of its own: a hash of *all* its fields.

    Two different events in the same second (sender + time alike) differ in some other field
    and so keep different ids, while a vendor retry repeats every field and collides.
    """
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "evt:" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


class Connector:
    kind: ClassVar[str]
    label: ClassVar[str]  # zh-CN, what people see
    label_en: ClassVar[str]
    capabilities: ClassVar[Capabilities] = Capabilities()
    secret_settings: ClassVar[tuple[str, ...]] = ()  # stored encrypted by ``flask channel add``
    required_settings: ClassVar[tuple[str, ...]] = ()
    callback: ClassVar[bool] = True  # the vendor calls /channels/<kind>/<account>
    contact_priority: ClassVar[int | None] = None  # lower goes first; None: after the ranked ones
    address_field: ClassVar[str | None] = None  # "phone", "email": no binding needed to reach them
    needs_account: ClassVar[bool] = True  # False: sends without a configured account (demo)

    def __init__(self, account: str, settings: dict[str, Any], transport: Any = None) -> None:
        self.account = account
        self.settings = settings
        self.transport = transport if transport is not None else requests.Session()
        self.counters: Any = None

    def use_counters(self, counters: Any) -> None:
        """Take the app's sliding-window counters (``acquire(key, limit, window) -> bool``)."""
        self.counters = counters

    def setting(self, key: str, default: Any = None) -> Any:
        value = self.settings.get(key)
        return default if value in (None, "") else value

    def handshake(self, request: InboundRequest) -> str | None:
        """Answer a vendor's URL verification (GET), or None when this is not one."""
        return None

    def verify_inbound(self, request: InboundRequest) -> None:
        raise NotImplementedError

    def parse_inbound(self, request: InboundRequest) -> list[InboundEvent]:
        raise NotImplementedError

    def acknowledge(self, request: InboundRequest, events: list[InboundEvent]) -> tuple[str, str]:
        """The body and content type that tell the vendor the callback was taken."""
        return "success", "text/plain"

    def send(self, outbound: Outbound) -> SendResult:
        raise NotImplementedError

    def query_status(self, outbound: Outbound, provider_message_id: str | None) -> str | None:
        """For a send of unknown outcome: ``sent``, ``not_sent`` or None (cannot tell)."""
        return None


REGISTRY: dict[str, type[Connector]] = {}


def register(cls: type[Connector]) -> type[Connector]:
    """Make the class the connector of its ``kind``; the modules that do are listed in ``registry``."""
    REGISTRY[cls.kind] = cls
    return cls


def connector_class(kind: str) -> type[Connector]:
    try:
        return REGISTRY[kind]
    except KeyError:
        raise ConnectorError(f"no connector for channel {kind!r}") from None
