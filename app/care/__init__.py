"""Care tasks (关怀任务) and campaigns: head office's loop from opportunity to measured result."""
from flask import Flask

from app import hooks


def init_app(app: Flask) -> None:
    from app.care import actions, automations, campaigns, deadlines
    from app.care.campaign_routes import bp as campaigns_bp
    from app.care.routes import bp

    app.register_blueprint(bp)
    app.register_blueprint(campaigns_bp)
    hooks.subscribe(app, hooks.MESSAGE_SENT, actions.on_message_sent)
    hooks.subscribe(app, hooks.MESSAGE_RECEIVED, actions.on_message_received)
    hooks.subscribe(app, hooks.ORDER_RECORDED, actions.on_order_recorded)
    hooks.subscribe(app, hooks.OUTBOUND_SETTLED, actions.on_outbound_settled)
    hooks.subscribe(app, hooks.OUTBOUND_SETTLED, campaigns.on_outbound_settled)
    hooks.subscribe(app, hooks.OUTBOUND_SETTLED, automations.on_outbound_settled)
    from app import jobs

    jobs.runner(app).every(60, deadlines.close_due_tasks)
    jobs.runner(app).every(30, campaigns.due_campaigns)
    jobs.runner(app).every(60, automations.run_all)
