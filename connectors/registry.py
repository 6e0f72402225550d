"""The channels this build knows, and the facts every other layer reads about them.

Adding a channel is one module in ``connectors/`` (a ``Connector`` subclass decorated with
``@register``) and one line in ``CHANNEL_MODULES``. Contact policy, campaign validation, the
callback routes, ingestion, segment filters, the OpenAPI document, the CLI and the web
(``GET /api/v1/channels/kinds``) all read the list from here; nothing else spells it out.
"""
from __future__ import annotations

import importlib
from typing import Any

from connectors.base import REGISTRY, Connector

# One line a channel, in the order people see them.
CHANNEL_MODULES = (
    "connectors.wechat_oa",
    "connectors.wecom",
    "connectors.wecom_kf",
    "connectors.sms",
    "connectors.email",
    "connectors.bridge",
    "connectors.loopback",
)


_ORDER = {name: i for i, name in enumerate(CHANNEL_MODULES)}
_loaded = False


def load_all() -> None:
    """Import every channel module, which registers its connector (once per process)."""
    global _loaded
    if not _loaded:
        for name in CHANNEL_MODULES:
            importlib.import_module(name)
        _loaded = True


def channel_classes() -> list[type[Connector]]:
    """Every registered connector: the listed modules' in their order, then any registered later."""
    load_all()
    return sorted(REGISTRY.values(), key=lambda cls: _ORDER.get(cls.__module__, len(_ORDER)))


def is_channel(kind: object) -> bool:
    load_all()
    return isinstance(kind, str) and kind in REGISTRY


def channel_kinds(*, callback: bool | None = None, mass_send: bool | None = None) -> tuple[str, ...]:
    """The channel kinds, optionally only those with (or without) a callback or mass sends."""
    return tuple(cls.kind for cls in channel_classes()
                 if (callback is None or cls.callback == callback)
                 and (mass_send is None or cls.capabilities.mass_send == mass_send))


def contact_priority() -> tuple[str, ...]:
    """The default contact order: ranked channels first (others follow, see assistant.policy)."""
    ranked = [cls for cls in channel_classes() if cls.contact_priority is not None]
    return tuple(cls.kind for cls in sorted(ranked, key=lambda cls: cls.contact_priority or 0))


def preferred_channel() -> str:
    """The channel to write for when nothing else says which: the first in the default order."""
    return (contact_priority() or channel_kinds())[0]


def address_fields() -> dict[str, str]:
    """Channels whose address is a customer column, not a binding: ``{"sms": "phone", …}``."""
    return {cls.kind: cls.address_field for cls in channel_classes() if cls.address_field}


def accountless_kinds() -> frozenset[str]:
    """Channels that send without a configured account (the demo loopback)."""
    return frozenset(cls.kind for cls in channel_classes() if not cls.needs_account)


def channel_label(kind: str, locale: str = "zh-CN") -> str:
    """A channel's name for people (zh-CN unless ``locale`` is en); an unknown kind as it is."""
    load_all()
    cls = REGISTRY.get(kind)
    if cls is None:
        return kind
    return cls.label_en if locale == "en" else cls.label


def channel_facts(cls: type[Connector]) -> dict[str, Any]:
    """What a channel is, as JSON: names, settings and capabilities (no secret values)."""
    caps = cls.capabilities
    window = caps.reply_window
    return {
        "kind": cls.kind, "label": cls.label, "label_en": cls.label_en,
        "callback": cls.callback, "needs_account": cls.needs_account,
        "settings": {"required": list(cls.required_settings), "secret": list(cls.secret_settings)},
        "capabilities": {
            "max_text_chars": caps.max_text_chars,
            "reply_window_hours": None if window is None else window.total_seconds() / 3600,
            "two_way": caps.two_way, "media": list(caps.media), "mass_send": caps.mass_send,
        },
    }
