"""Reception (接待): every inbound message reaches a person.

Messages from customers no clerk owns wait in their store's pool, or head office's (``routing``,
``intake``); a clerk claims one, or the pool assigns it; threads are transferred with a note
(``pools``); the clerks who should answer get a WeCom app message (``notices``, as each chose in
``preferences``); waits that last too long go up to the manager, then head office (``escalation``); and
the service figures come from the same waits (``figures``).
"""
from flask import Flask


def init_app(app: Flask) -> None:
    from app import hooks, jobs
    from app.reception import commands, escalation, notices, routes

    app.register_blueprint(routes.bp)
    commands.init_app(app)
    hooks.subscribe(app, hooks.MESSAGE_RECEIVED, notices.on_message_received)
    jobs.runner(app).every(60, escalation.escalate_due)
