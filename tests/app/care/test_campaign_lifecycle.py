"""A campaign as head office runs it: preview (the count, the holdout, who the policy skips, the
cost and the copy as each customer will read it — nothing written), confirm with a schedule, the
scheduler sends it at that time, and a scheduled campaign can be called off until it starts."""
from __future__ import annotations

from sqlalchemy import func, select

from app.care import campaigns
from models import Campaign, CampaignTarget, CustomerOptOut, OutboxEntry, Role, Segment
from tests import factories as f

EVERYONE = {"field": "paid_orders", "op": ">=", "value": 0}


def _brand(db):
    with db.transaction() as s:
        store = f.store(s)
        f.staff(s, username="hq", role=Role.hq)
        clerk = f.staff(s, username="clerk1", store=store)
        ids = []
        for i in range(20):
            c = f.customer(s, name=f"顾客{i}", phone=f"1390000{i:04d}")
            f.follow(s, c, clerk, channel="loopback")
            f.identity(s, c, "loopback", f"lb-{c.id}")
            ids.append(c.id)
        s.add(CustomerOptOut(customer_id=ids[0], channel="loopback"))
        seg = Segment(name="全部", filter=EVERYONE)
        s.add(seg)
        s.flush()
        return seg.id


def body(segment_id, **kw):
    return {"name": "双12 会员日", "segment_id": segment_id, "channel": "loopback", "holdout_pct": 10,
            "unit_cost_fen": 5, "content": {"text": "{{ customer_name }}您好，双12 会员日全场9折"}, **kw}


def test_preview_shows_counts_cost_and_rendered_copy_and_writes_nothing(app, client, auth, db):
    segment = _brand(db)
    auth.login("hq")
    resp = client.post("/api/v1/campaigns/preview", json=body(segment))
    assert resp.status_code == 200, resp.get_json()
    p = resp.get_json()
    assert p["segment_size"] == 20 and p["reachable"] == 19 and p["holdout"] == 2
    assert p["would_send"] == round(19 * 0.9) and p["cost"] == f"{p['would_send'] * 5 / 100:.2f}"
    assert p["samples"][0]["text"].startswith("顾客") and "{{" not in p["samples"][0]["text"]
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(Campaign)) == 0
        assert s.scalar(select(func.count()).select_from(CampaignTarget)) == 0
    bad = client.post("/api/v1/campaigns/preview", json=body(segment, holdout_pct=80))
    assert bad.status_code == 422 and "holdout_pct" in bad.get_json()["fields"]


def test_a_scheduled_campaign_goes_at_its_time_and_can_be_called_off_before(app, client, auth, db, clock):
    segment = _brand(db)
    auth.login("hq")
    clock.travel_to("2026-11-18 10:00")
    later = client.post("/api/v1/campaigns", json=body(segment, scheduled_at="2026-11-18T15:00"))
    other = client.post("/api/v1/campaigns", json=body(segment, name="取消的", scheduled_at="2026-11-18T15:00"))
    assert later.status_code == 201 and other.status_code == 201
    assert later.get_json()["scheduled_at"].startswith("2026-11-18T07:00")  # 15:00 Shanghai
    cancelled = client.post(f"/api/v1/campaigns/{other.get_json()['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    with app.app_context():
        clock.travel_to("2026-11-18 14:59")
        assert campaigns.due_campaigns() == []
        clock.travel_to("2026-11-18 15:00")
        assert campaigns.due_campaigns() == [later.get_json()["id"]]
    with db.Session() as s:
        assert s.get(Campaign, later.get_json()["id"]).status == "sent"
        sent_for = set(s.scalars(select(OutboxEntry.payload["extra"]["campaign_id"].as_integer())))
    assert sent_for == {later.get_json()["id"]}  # the called-off one sent nothing
    again = client.post(f"/api/v1/campaigns/{later.get_json()['id']}/cancel")
    assert again.status_code == 422 and "status" in again.get_json()["fields"]
    assert client.post("/api/v1/campaigns/999999/cancel").status_code == 404
