"""Conversations and messages: receive, send (through the outbox), delivery status."""
from flask import Flask


def init_app(app: Flask) -> None:
    """Nothing to register yet: the channel callbacks and dispatcher live in app.channels."""
