import datetime as dt

from app.contact.service import decide_many
from sqlalchemy import select

from models import ChannelAccount, Conversation, CustomerOptOut, Message
from tests import factories as f

UTC = dt.timezone.utc
NOON = dt.datetime(2026, 11, 20, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai


def _open(s, *kinds):
    """The brand has accounts on these channels (the policy only picks channels it can send on)."""
    for kind in kinds:
        if s.scalar(select(ChannelAccount.id).where(ChannelAccount.kind == kind)) is None:
            s.add(ChannelAccount(kind=kind, name=f"{kind}-main", settings={}))
    s.flush()


def _customer_with_history(s, clerk, sent_days_ago=(), opt_out=None):
    _open(s, "wecom", "sms")
    c = f.customer(s, phone="13800000000")
    f.follow(s, c, clerk)
    f.identity(s, c, "wecom", f"wm-{c.id}")
    conv = Conversation(customer_id=c.id, clerk_id=clerk.id)
    s.add(conv)
    s.flush()
    for i, days in enumerate(sent_days_ago):
        s.add(Message(conversation_id=conv.id, direction="out", channel="wecom", body=f"促销 {i}",
                      purpose="marketing", status="delivered", created_at=NOON - dt.timedelta(days=days)))
    if opt_out:
        s.add(CustomerOptOut(customer_id=c.id, channel=opt_out))
    s.flush()
    return c.id


def test_decide_many_reads_history_from_the_database(app, db):
    with db.transaction() as s:
        clerk = f.staff(s, store=f.store(s))
        fresh = _customer_with_history(s, clerk)
        tired = _customer_with_history(s, clerk, sent_days_ago=(1, 2))
        left = _customer_with_history(s, clerk, opt_out="wecom")
    with app.app_context(), db.Session() as s:
        d = decide_many(s, [fresh, tired, left], purpose="marketing", now=NOON)
    assert d[fresh].allowed and d[fresh].channel == "wecom"
    assert not d[tired].allowed and d[tired].reason.startswith("已在 7 天内收到 2 条营销消息")
    assert d[left].allowed and d[left].channel == "sms"


def test_reservations_stop_a_second_sender_overshooting(app, db):
    with db.transaction() as s:
        clerk = f.staff(s, store=f.store(s))
        cid = _customer_with_history(s, clerk, sent_days_ago=(1,))
    with app.app_context(), db.Session() as s:
        first = decide_many(s, [cid], purpose="marketing", now=NOON)[cid]
        second = decide_many(s, [cid], purpose="marketing", now=NOON)[cid]
        third = decide_many(s, [cid], purpose="marketing", now=NOON)[cid]
    # the database shows one send; the counters allow two in flight, then refuse
    assert first.allowed and second.allowed and not third.allowed


def test_policy_settings_api(client, auth, db):
    with db.transaction() as s:
        f.staff(s, username="boss", role="hq")
        f.staff(s, username="c1", store=f.store(s))
    auth.login("c1")
    assert client.put("/api/v1/settings/contact-policy", json={"marketing_cap": 3}).status_code == 403
    auth.logout()
    auth.login("boss")
    bad = client.put("/api/v1/settings/contact-policy", json={"marketing_cap": -2, "quiet_end": "x"})
    assert bad.status_code == 422 and set(bad.get_json()["fields"]) == {"marketing_cap", "quiet_end"}
    ok = client.put("/api/v1/settings/contact-policy", json={"marketing_cap": 3})
    assert ok.status_code == 200 and ok.get_json()["marketing_cap"] == 3
    assert client.get("/api/v1/settings/contact-policy").get_json()["marketing_cap"] == 3


def test_a_channel_the_brand_has_not_opened_is_passed_over_with_its_reason(app, db):
    with db.transaction() as s:
        clerk = f.staff(s, store=f.store(s))
        c = f.customer(s, phone="13800000001")
        f.follow(s, c, clerk)
        f.identity(s, c, "loopback", f"lb-{c.id}")
    with app.app_context(), db.transaction() as s:
        d = decide_many(s, [c.id], purpose="service", now=NOON)[c.id]
        assert d.allowed and d.channel == "loopback"  # sms is reachable but has no account
        assert ("sms", "品牌还没有开通该渠道") in d.skipped
        _open(s, "sms")
        d = decide_many(s, [c.id], purpose="service", now=NOON)[c.id]
        assert d.allowed and d.channel == "sms"
