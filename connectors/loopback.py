"""The demo channel: messages sent to it are delivered at once and recorded in memory.

It lets ``make run`` show a full send → delivered round trip with no vendor account.
"""
from __future__ import annotations

import threading
import uuid

from connectors.base import Capabilities, Connector, Outbound, SendResult, register


@register
class LoopbackConnector(Connector):
    kind = "loopback"
    capabilities = Capabilities(max_text_chars=2000, two_way=True, media=("text", "image", "product"))
    sent: list[Outbound] = []
    _lock = threading.Lock()

    def send(self, outbound: Outbound) -> SendResult:
        with self._lock:
            self.sent.append(outbound)
        return SendResult(provider_message_id=f"lb-{uuid.uuid4().hex[:12]}", delivered=True)
