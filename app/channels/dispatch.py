"""The outbox dispatcher: claim a due row, send it through its connector, record the result."""
from __future__ import annotations

import logging

from sqlalchemy import update

from app import db
from app.messaging.actions import set_message_status
from connectors.base import ConnectorError, Outbound, connector_class
from models import MessageStatus, OutboxEntry, OutboxState, utcnow

log = logging.getLogger("daogou.outbox")


def dispatch_entry(entry_id: int) -> str:
    """Send one outbox row if it is still pending; return its final state."""
    database = db.get_db()
    with database.transaction() as s:
        claimed = s.execute(update(OutboxEntry).where(
            OutboxEntry.id == entry_id, OutboxEntry.state == OutboxState.pending)
            .values(state=OutboxState.sending, claimed_at=utcnow(), attempts=OutboxEntry.attempts + 1))
        if claimed.rowcount == 0:
            return "skipped"
        entry = s.get(OutboxEntry, entry_id)
        outbound = Outbound(idempotency_key=entry.idempotency_key, recipient=entry.recipient,
                            type=entry.payload.get("type", "text"), body=entry.payload.get("body", ""),
                            purpose=entry.purpose, extra=entry.payload.get("extra", {}))
        kind, account = entry.channel, entry.account or ""
    try:
        result = connector_class(kind)(account, {}).send(outbound)
    except ConnectorError as exc:
        with database.transaction() as s:
            entry = s.get(OutboxEntry, entry_id)
            entry.state = OutboxState.dead
            entry.last_error = str(exc)[:255]
            if entry.message_id:
                set_message_status(s, entry.message_id, MessageStatus.failed, str(exc)[:255])
        log.warning("send failed", extra={"outbox_id": entry_id, "channel": kind, "reason": str(exc)})
        return OutboxState.dead.value
    with database.transaction() as s:
        entry = s.get(OutboxEntry, entry_id)
        entry.state = OutboxState.sent
        entry.sent_at = utcnow()
        entry.provider_message_id = result.provider_message_id
        if entry.message_id:
            set_message_status(s, entry.message_id,
                               MessageStatus.delivered if result.delivered else MessageStatus.sent)
    return OutboxState.sent.value
