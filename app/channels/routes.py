"""Channel callbacks (``/channels/<kind>/<account>``) and the channel list (``/api/v1/channels/kinds``).

The view verifies (signature, time window, ids) before anything in the body is trusted, hands
the events to the group-committing inbox (``inbox``) and answers the vendor once they are
stored, so a retry after our answer finds them. Slow work (fetching 微信客服 messages, pushing to
consoles) happens after the commit, off the vendor's clock.
"""
from __future__ import annotations

import logging
from concurrent.futures import TimeoutError as FutureTimeout

from flask import Blueprint, Response, jsonify, request

from app import db
from app.auth import staff_required
from app.channels.accounts import registry
from app.channels.inbox import inbox
from app.contact.service import open_channels
from connectors.base import ConnectorError, InboundRejected, InboundRequest
from connectors.registry import channel_classes, channel_facts, channel_kinds

log = logging.getLogger("daogou.channels")

bp = Blueprint("channels", __name__)

MAX_CALLBACK_BYTES = 256 * 1024  # vendors' callbacks are a few KB; anything bigger is not theirs


def _rejected(kind: str, account: str, reason: str, status: int):
    log.warning("callback rejected", extra={"channel": kind, "account": account, "reason": reason})
    return jsonify({"error": reason}), status


@bp.route("/channels/<kind>/<account>", methods=["GET", "POST"])
def callback(kind: str, account: str):
    if kind not in channel_kinds(callback=True):
        return _rejected(kind, account, "unknown channel kind", 404)
    try:
        connector = registry().connector(kind, account)
    except ConnectorError:
        return _rejected(kind, account, "unknown channel account", 404)
    if (request.content_length or 0) > MAX_CALLBACK_BYTES:
        return _rejected(kind, account, "body too large", 413)
    body = request.stream.read(MAX_CALLBACK_BYTES + 1)
    if len(body) > MAX_CALLBACK_BYTES:
        return _rejected(kind, account, "body too large", 413)
    inbound = InboundRequest(method=request.method, args=request.args.to_dict(),
                             headers={k.lower(): v for k, v in request.headers.items()}, body=body)
    try:
        if request.method == "GET":
            echo = connector.handshake(inbound)
            if echo is None:
                return _rejected(kind, account, "GET is only for URL verification", 405)
            return Response(echo, mimetype="text/plain")
        connector.verify_inbound(inbound)
        events = connector.parse_inbound(inbound)
    except InboundRejected as exc:
        return _rejected(kind, account, exc.reason, exc.status)
    try:
        counts = inbox().submit(connector, events)
    except FutureTimeout:
        # Not stored in time: say so, and the vendor retries (a late commit makes that a duplicate).
        log.warning("callback not stored in time", extra={"channel": kind, "account": account})
        return jsonify({"error": "busy, retry later"}), 503
    if counts.get("pooled"):
        log.info("inbound from customers nobody owns, put in a pool", extra={"channel": kind, "count": counts["pooled"]})
    text, content_type = connector.acknowledge(inbound, events)
    return Response(text, mimetype=content_type)


@bp.get("/api/v1/channels/kinds")
@staff_required()
def kinds():
    """Every channel this build knows, with its labels and capabilities; ``open``: the brand can send on it now."""
    usable = open_channels(db.session())
    return jsonify({"kinds": [{**channel_facts(cls), "open": cls.kind in usable} for cls in channel_classes()]})
