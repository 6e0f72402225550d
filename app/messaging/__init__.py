"""Conversations and messages: receive, send (through the outbox), delivery status, quiet hours."""
from flask import Flask


def init_app(app: Flask) -> None:
    """Release the sends held for quiet hours when they end (the channel callbacks and the
    dispatcher live in app.channels)."""
    from app import jobs
    from app.messaging import deferred

    jobs.runner(app).every(30, deferred.release_due)
