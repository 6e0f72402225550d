"""微信客服 message pull: ``kf/sync_msg`` from the stored cursor, each page applied with its cursor.

The cursor is saved in the same transaction as the messages of its page, so a crash between
pages re-reads at most one page, and those messages are recognised by their msgid.
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from app import db
from app.channels.accounts import registry
from app.channels.inbound import accept_events
from models import ChannelAccount, Setting

log = logging.getLogger("daogou.channels")
MAX_PAGES = 50


def cursor_key(account: str) -> str:
    return f"channels.wecom-kf.{account}.cursor"


def sync_kf_account(account: str, token: str | None = None) -> int:
    """Pull and store every new message of one 微信客服 account; return how many events were new."""
    connector = registry().connector("wecom-kf", account)
    new = 0
    for _ in range(MAX_PAGES):
        with db.get_db().Session() as s:
            row = s.get(Setting, cursor_key(account))
            cursor = (row.value or {}).get("cursor") if row else None
        events, next_cursor, more = connector.sync(cursor, token)
        with db.transaction() as s:
            counts = accept_events(s, connector, events)
            row = s.get(Setting, cursor_key(account))
            if row is None:
                s.add(Setting(key=cursor_key(account), value={"cursor": next_cursor}))
            else:
                row.value = {"cursor": next_cursor}
        new += sum(n for outcome, n in counts.items() if outcome != "duplicate")
        if not more:
            break
    return new


def sync_all_kf() -> int:
    """The periodic catch-up: a lost callback or job still gets its messages pulled."""
    with db.get_db().Session() as s:
        names = list(s.scalars(select(ChannelAccount.name).where(ChannelAccount.kind == "wecom-kf",
                                                                 ChannelAccount.enabled.is_(True))))
    total = 0
    for name in names:
        total += sync_kf_account(name)
    return total
