"""Coupons (优惠券, 客户权益): templates, issuing unique codes, a clerk's gift, redemption by orders."""
from flask import Flask


def init_app(app: Flask) -> None:
    from app import api_docs
    from app.coupons import openapi, routes

    app.register_blueprint(routes.bp)
    api_docs.register_paths(app, openapi.PATHS, openapi.SCHEMAS)
