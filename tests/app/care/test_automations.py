import datetime as dt

import pytest
from sqlalchemy import func, select

from app.care import automations
from app.messaging import deferred
from models import AutomationRun, Direction, Message, Setting, Stage
from tests import factories as f

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 20, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai: not quiet hours


@pytest.fixture
def shop(db):
    with db.transaction() as s:
        clerk = f.staff(s, store=f.store(s), display_name="小王")
        mask = f.product(s, name="补水面膜", category="skincare", usage_days=10, price_fen=9900)
        coat = f.product(s, name="羊毛大衣", category="apparel", price_fen=99900)

        def cust(**kw):
            c = f.customer(s, **kw)
            f.follow(s, c, clerk, channel="loopback")
            f.identity(s, c, "loopback", f"lb-{c.id}")
            return c

        unpaid = cust(name="未付款")
        f.order(s, unpaid, [(coat, 1)], status="created", created_at=NOW - dt.timedelta(minutes=31))
        small = cust(name="小额未付")
        f.order(s, small, [(mask, 1)], status="created", created_at=NOW - dt.timedelta(minutes=31))
        fresh = cust(name="刚下单")
        f.order(s, fresh, [(coat, 1)], status="created", created_at=NOW - dt.timedelta(minutes=29))
        refill = cust(name="该补货")
        f.order(s, refill, [(mask, 2)], paid_at=NOW - dt.timedelta(days=18))  # day 18 of 20
        bday = cust(name="寿星", birthday=dt.date(1990, 11, 23))
        sleepy = cust(name="沉睡", stage=Stage.dormant)
    return {"unpaid": unpaid.id, "small": small.id, "fresh": fresh.id, "refill": refill.id,
            "bday": bday.id, "sleepy": sleepy.id}


def _sent_to(db):
    with db.Session() as s:
        rows = s.execute(select(Message.body, Message.client_id)).all()
    return rows


def test_unpaid_reminder_fires_once_after_the_delay_over_the_threshold(app, db, shop):
    with app.app_context():
        assert automations.run_rule("unpaid_reminder", NOW) == {"sent": 1, "deferred": 0, "skipped": 0}
        assert automations.run_rule("unpaid_reminder", NOW) == {"sent": 0, "deferred": 0, "skipped": 0}
        assert automations.run_rule("unpaid_reminder", NOW + dt.timedelta(minutes=5))["sent"] == 1  # the 29-minute one
    rows = _sent_to(db)
    assert len(rows) == 2
    assert any("¥999.00" in body for body, _ in rows)
    assert all(cid.startswith("auto:unpaid_reminder:order:") for _, cid in rows)


def test_replenishment_and_birthday_and_dormant(app, db, shop):
    with app.app_context():
        assert automations.run_rule("replenishment", NOW)["sent"] == 1
        assert automations.run_rule("birthday", NOW)["sent"] == 1
        assert automations.run_rule("dormant_reactivation", NOW) == {"sent": 0, "deferred": 0, "skipped": 0}  # off by default
    bodies = [b for b, _ in _sent_to(db)]
    assert any("补水面膜大约还能用 2 天" in b for b in bodies)
    assert any(b.startswith("寿星，提前祝您生日快乐") for b in bodies)


def test_a_marketing_automation_at_night_waits_for_nine_and_goes_once(app, db, shop, clock):
    with db.transaction() as s:
        s.add(Setting(key="automations", value={"dormant_reactivation": {"enabled": True}}))
    clock.travel_to("2026-11-20 23:00")  # quiet hours for marketing in Shanghai
    with app.app_context():
        assert automations.run_rule("dormant_reactivation") == {"sent": 0, "deferred": 1, "skipped": 0}
        assert automations.run_rule("dormant_reactivation") == {"sent": 0, "deferred": 0, "skipped": 0}
    with db.Session() as s:
        run = s.scalars(select(AutomationRun)).one()
        assert run.outcome == "deferred" and run.reason == "免打扰时段，已顺延至 明天 09:00"
        assert [m.status.value for m in s.scalars(select(Message).where(Message.direction == Direction.outbound))] == ["scheduled"]
    clock.travel_to("2026-11-21 08:59")
    with app.app_context():
        assert deferred.release_due() == {"released": 0, "cancelled": 0, "deferred": 0}
    clock.travel_to("2026-11-21 09:00")
    with app.app_context():
        assert deferred.release_due()["released"] == 1
    with db.Session() as s:
        assert s.scalars(select(AutomationRun)).one().outcome == "sent"
        out = s.scalars(select(Message).where(Message.direction == Direction.outbound)).one()
        assert out.status.value in ("queued", "sent", "delivered")


def test_a_brand_that_chose_skip_for_automations_drops_them_at_night_and_says_why(app, db, shop, clock):
    with db.transaction() as s:
        s.add(Setting(key="automations", value={"dormant_reactivation": {"enabled": True}}))
        s.add(Setting(key="contact_policy", value={"quiet_actions": {"automation": "skip"}}))
    clock.travel_to("2026-11-20 23:00")
    with app.app_context():
        assert automations.run_rule("dormant_reactivation") == {"sent": 0, "deferred": 0, "skipped": 1}
        assert automations.run_rule("dormant_reactivation") == {"sent": 0, "deferred": 0, "skipped": 0}
    with db.Session() as s:
        run = s.scalars(select(AutomationRun)).one()
        assert run.outcome == "skipped" and run.reason.startswith("免打扰时段")


def test_settings_api_validates(client, auth, db, shop):
    with db.transaction() as s:
        f.staff(s, username="hq", role="hq")
    auth.login("hq")
    bad = client.put("/api/v1/automations", json={"nope": {}, "birthday": {"params": {"days_before": -1}},
                                                    "honeymoon": {"template": "{{ x "}})
    assert bad.status_code == 422
    assert set(bad.get_json()["fields"]) == {"nope", "birthday.params.days_before", "honeymoon.template"}
    ok = client.put("/api/v1/automations", json={"birthday": {"params": {"days_before": 7}}})
    rules = {r["key"]: r for r in ok.get_json()["rules"]}
    assert rules["birthday"]["params"]["days_before"] == 7
