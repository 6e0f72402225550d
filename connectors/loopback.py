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
    label, label_en = "演示通道", "Demo channel"
    callback = False
    needs_account = False
    # Like a vendor that honours idempotency keys: a resend of a key is recognised, not redelivered.
    capabilities = Capabilities(max_text_chars=2000, two_way=True, media=("text", "image", "product"),
                                sends_per_second=10000.0, idempotent_sends=True)
    sent: list[Outbound] = []
    _ids: dict[str, str] = {}
    _lock = threading.Lock()

    def send(self, outbound: Outbound) -> SendResult:
        with self._lock:
            if outbound.idempotency_key not in self._ids:
                self._ids[outbound.idempotency_key] = f"lb-{uuid.uuid4().hex[:12]}"
                self.sent.append(outbound)
            return SendResult(provider_message_id=self._ids[outbound.idempotency_key], delivered=True)
