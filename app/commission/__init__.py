"""Sales attribution and commission (业绩与提成): ledger, rules, the clerk's earnings screen."""
from flask import Flask

from app import hooks


def init_app(app: Flask) -> None:
    from app.commission import attribution, commands
    from app.commission.routes import bp

    app.register_blueprint(bp)
    hooks.subscribe(app, hooks.ORDER_RECORDED, attribution.on_order_recorded)
    commands.init_app(app)
