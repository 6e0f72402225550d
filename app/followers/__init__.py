"""The follower book: the clerk's list of followers, automatic tags kept current, ``flask retag``.

Its ``init_app`` also registers the two head-office parts of the same issue — segments and the
tag-rule settings — so the factory needs one line for all of it.
"""
from flask import Flask


def init_app(app: Flask) -> None:
    from app import hooks
    from app.followers import actions, commands
    from app.followers.routes import bp

    app.register_blueprint(bp)
    hooks.subscribe(app, hooks.ORDER_RECORDED, actions.retag_on_order)
    hooks.subscribe(app, hooks.MESSAGE_RECEIVED, actions.retag_on_message)
    hooks.subscribe(app, hooks.FOLLOWER_CHANGED, actions.retag_on_follow)
    commands.init_app(app)

    from app import segments, settings

    segments.init_app(app)
    settings.init_app(app)
