"""Drafted copy and product recommendations for clerks; templates, offers and results for head office."""
from flask import Flask


def init_app(app: Flask) -> None:
    from app import hooks
    from app.drafts import actions
    from app.drafts.routes import bp

    app.register_blueprint(bp)
    hooks.subscribe(app, hooks.MESSAGE_SENT, actions.note_sent)
    hooks.subscribe(app, hooks.MESSAGE_RECEIVED, actions.note_reply)
    hooks.subscribe(app, hooks.ORDER_RECORDED, actions.note_purchases)
