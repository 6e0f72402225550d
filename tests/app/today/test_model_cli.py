"""flask model train / report / score against a small brand, then the Today list reads the scores."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.model import service
from models import ConsoleEvent, Customer, CustomerScore, ModelVersion, Role, utcnow
from tests import factories as f


@pytest.fixture
def shop(db):
    """Three followers: one mid product cycle, one with an unpaid order, one who has not bought."""
    now = utcnow()
    with db.transaction() as s:
        store = f.store(s)
        clerk = f.staff(s, Role.clerk, store, username="clerk1")
        f.staff(s, Role.hq, username="hq")
        masks = f.product(s, category="masks", price_fen=9900, usage_days=10)
        due, unpaid, prospect = (f.customer(s) for _ in range(3))
        for c in (due, unpaid, prospect):
            f.follow(s, c, clerk)
        f.order(s, due, [(masks, 2)], paid_at=now - dt.timedelta(days=18))
        f.order(s, unpaid, [(masks, 1)], paid_at=now - dt.timedelta(days=100))
        f.order(s, unpaid, [(masks, 3)], status="created", created_at=now - dt.timedelta(days=1))
        return {"due": due.id, "unpaid": unpaid.id, "prospect": prospect.id, "clerk": clerk.id}


def test_train_score_and_today_on_too_little_history_use_the_rule_fallback(app, db, shop, client, auth):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["model", "train"])
    assert result.exit_code == 0, result.output
    assert "promoted to current" in result.output and "transparent rules" in result.output
    with db.Session() as s:
        version = s.scalar(select(ModelVersion))
    assert version.is_current and version.metrics["fallback"] is True
    assert Path(version.artifact_path).exists()

    result = runner.invoke(args=["model", "score"])
    assert result.exit_code == 0, result.output
    assert "scored 3 customers" in result.output
    with db.Session() as s:
        scores = {row.customer_id: row for row in s.scalars(select(CustomerScore))}
    assert scores[shop["unpaid"]].action == "payment"
    assert scores[shop["unpaid"]].reasons[0] == {"code": "unpaid", "params": {"amount": "297"}, "effect": 0.35}
    assert scores[shop["due"]].action == "replenish"
    # gap 0: the cycle's purchase is the customer's last one, so the card may call it "上次购买"
    assert scores[shop["due"]].reasons[0]["params"] == {"quantity": 2, "usage_days": 10, "days": 18, "gap": 0}
    assert all(s.reasons[-1]["code"] == "fallback" for s in scores.values())
    assert scores[shop["prospect"]].propensity < scores[shop["due"]].propensity

    auth.login("clerk1")
    items = client.get("/api/v1/today").get_json()["items"]
    assert [i["customer_id"] for i in items][:2] == [shop["unpaid"], shop["due"]]
    texts = [r["text"] for r in items[0]["reasons"]]
    assert texts[0] == "有 ¥297 未付款订单" and texts[-1] == "历史数据还不够，暂按规则排序"

    result = runner.invoke(args=["model", "report"])
    assert result.exit_code == 0 and "fallback=True" in result.output
    auth.logout()
    auth.login("hq")
    body = client.get("/api/v1/model/versions").get_json()
    assert body["versions"][0]["is_current"] and body["versions"][0]["fallback"] is True


def test_an_order_rescores_its_customer_with_the_current_model(app, db, shop):
    assert app.test_cli_runner().invoke(args=["model", "train"]).exit_code == 0
    from app import hooks

    with app.app_context(), db.transaction() as s:
        customer = s.get(Customer, shop["prospect"])
        order = f.order(s, customer, amount_fen=10000, paid_at=utcnow())
        hooks.fire(s, hooks.ORDER_RECORDED, order_ids=[order.id], customer_ids=[customer.id])
    with db.Session() as s:
        rows = s.scalars(select(CustomerScore)).all()
    assert [r.customer_id for r in rows] == [shop["prospect"]]  # only that customer, after commit
    # one paid order: a recent buyer, never "老客" (that takes two)
    assert rows[0].reasons[0]["code"] in {"recent_buyer", "bought_once"}
    with db.Session() as s:
        events = s.scalars(select(ConsoleEvent).where(ConsoleEvent.name == "today.updated")).all()
    assert [(e.room, e.payload) for e in events] == [(f"clerk:{shop['clerk']}", {"customer_ids": [shop["prospect"]]})]


def test_report_without_a_model_says_how_to_get_one(app):
    result = app.test_cli_runner().invoke(args=["model", "report"])
    assert result.exit_code != 0 and "flask model train" in result.output


def test_a_worse_version_is_not_promoted(app, db, shop):
    assert app.test_cli_runner().invoke(args=["model", "train"]).exit_code == 0
    with db.transaction() as s:
        current = s.scalar(select(ModelVersion).where(ModelVersion.is_current.is_(True)))
        current.metrics = {"fallback": False, "summary": [{"horizon": 30, "method": "ranker", "ap": 0.99}]}
        # a non-fallback incumbent with a measured AP beats an unmeasured fallback challenger
        version = service.train(s, app)
        assert not version.is_current
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(ModelVersion).where(ModelVersion.is_current.is_(True))) == 1
