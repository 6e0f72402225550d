"""The propensity model's life in the app: ``flask model train|report|score``, re-scoring on events."""
from __future__ import annotations

from flask import Flask

from app import hooks, jobs


def init_app(app: Flask) -> None:
    # pandas, scipy and scikit-learn load on first use (a command, a job), not at start-up: the web
    # process answers the Today list from precomputed scores and should boot fast.
    from app.model import cli
    from app.model.routes import bp

    app.register_blueprint(bp)
    cli.init_app(app)
    hooks.subscribe(app, hooks.ORDER_RECORDED, _on_order_recorded)
    hooks.subscribe(app, hooks.MESSAGE_RECEIVED, _on_message_received)
    jobs.runner(app).every(24 * 3600, nightly_score, name="model.nightly_score")


def nightly_score() -> None:
    """Job: re-score everyone with the current model (skipped until one has been trained)."""
    from app.model import service

    service.nightly_score()


def rescore_customers(customer_ids: list[int]) -> None:
    """Job: re-score a few customers after an order or a message."""
    from app.model import service

    service.rescore_customers(customer_ids)


def _on_order_recorded(session, order_ids, customer_ids, **_kw) -> None:
    from app.today.actions import mark_bought

    mark_bought(session, list(order_ids), list(customer_ids))
    # Scores are refreshed after the order commits, in a job, so a scoring problem can never
    # undo the order that triggered it.
    jobs.enqueue_after_commit(session, rescore_customers, sorted(set(customer_ids)))


def _on_message_received(session, message_id, customer_id, **_kw) -> None:
    jobs.enqueue_after_commit(session, rescore_customers, [customer_id])
