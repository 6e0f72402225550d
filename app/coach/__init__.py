"""The clerk's coach (导购助理): "这个月还差多少？", "我今天该联系谁？", "帮我给王女士写一条消息"…

``tools`` are what it may look up (each bound to the asking clerk's followers), ``rules`` reads a
Chinese question without a model, ``service`` picks the path, ``routes`` is the endpoint.
"""
from flask import Flask


def init_app(app: Flask) -> None:
    from app.coach import routes

    app.register_blueprint(routes.bp)
