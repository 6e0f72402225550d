"""Staff-only lines in a conversation: what the customer did elsewhere ("王女士 看了你发的商品页").

A note is a ``Message`` of type ``event`` the console shows as a centred system line. It is not
something the customer said: it bumps no unread count, opens no service wait, does not move the
thread up the list, fires no ``message.received`` (so no task target counts it as a reply), and
sits on the ``page`` channel, so no channel's reply window or inbound facts ever read it.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from app import realtime
from app.messaging.actions import publish_to_conversation
from app.messaging.payloads import message_created
from models import Conversation, Direction, Message, MessageStatus, utcnow

NOTE_CHANNEL = "page"
MAX_NOTE_CHARS = 200


def note_event(session: Session, conversation: Conversation, body: str,
               payload: dict | None = None) -> Message:
    """Write a staff-only line into ``conversation`` and show it on its screens after commit."""
    msg = Message(conversation_id=conversation.id, direction=Direction.inbound, channel=NOTE_CHANNEL,
                  type="event", body=body[:MAX_NOTE_CHARS], payload=payload, status=MessageStatus.received,
                  created_at=utcnow())
    session.add(msg)
    session.flush()
    publish_to_conversation(session, conversation, realtime.MESSAGE_CREATED, message_created(msg, conversation))
    return msg
