"""The contract every channel implements, typed errors, and the registry.

A connector knows one vendor protocol. It never imports ``app``: it receives its account
settings and an HTTP transport, and it returns plain data. What a channel must implement:

- ``capabilities``: length limit, reply window, whether it carries two-way chat, media types;
- ``verify_inbound(request)`` → raise ``InboundRejected`` (bad signature, stale, replay…);
- ``parse_inbound(request)`` → a list of ``InboundEvent``;
- ``send(outbound)`` → ``SendResult``; raise ``ConnectorError(retryable=…, maybe_sent=…)``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Capabilities:
    max_text_chars: int | None = None
    reply_window: dt.timedelta | None = None  # free-form replies only inside this window
    two_way: bool = True
    media: tuple[str, ...] = ("text",)


@dataclass(frozen=True)
class InboundRequest:
    """What a connector sees of an HTTP callback: no Flask objects cross this line."""

    method: str
    args: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class InboundEvent:
    """One message or event parsed from a callback."""

    kind: str  # message, subscribe, unsubscribe, contact_added, contact_deleted, opt_out, status…
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


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str | None = None
    delivered: bool = False  # the channel confirmed delivery synchronously


class ConnectorError(Exception):
    """A send or API call failed.

    ``retryable``: trying again later may work (5xx, rate limit, token refresh).
    ``maybe_sent``: the request may have reached the vendor (read timeout): never blindly resend.
    ``fallback``: this channel cannot deliver now (out of window, quota): try another channel.
    """

    def __init__(self, message: str, *, retryable: bool = False, maybe_sent: bool = False,
                 fallback: bool = False, code: str | int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.maybe_sent = maybe_sent
        self.fallback = fallback
        self.code = code


class InboundRejected(Exception):
    """A callback that must not be trusted; ``status`` is the HTTP answer (always 4xx)."""

    def __init__(self, reason: str, status: int = 403) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class Connector:
    kind: ClassVar[str]
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, account: str, settings: dict[str, Any], transport: Any = None) -> None:
        self.account = account
        self.settings = settings
        self.transport = transport

    def verify_inbound(self, request: InboundRequest) -> None:
        raise NotImplementedError

    def parse_inbound(self, request: InboundRequest) -> list[InboundEvent]:
        raise NotImplementedError

    def send(self, outbound: Outbound) -> SendResult:
        raise NotImplementedError


REGISTRY: dict[str, type[Connector]] = {}


def register(cls: type[Connector]) -> type[Connector]:
    REGISTRY[cls.kind] = cls
    return cls


def connector_class(kind: str) -> type[Connector]:
    try:
        return REGISTRY[kind]
    except KeyError:
        raise ConnectorError(f"no connector for channel {kind!r}") from None
