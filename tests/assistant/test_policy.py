"""The contact policy at each rule's boundary."""
import datetime as dt

import pytest

from zoneinfo import ZoneInfo

from assistant.policy import (ContactHistory, PolicyConfig, PolicyConfigError, Sent, content_hash,
                              decide, in_quiet_hours, quiet_hours_end, until_label)

UTC = dt.timezone.utc
# 2026-11-20 14:00 in Shanghai — inside working hours.
NOON = dt.datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
CFG = PolicyConfig(channel_priority=("wecom", "wechat-oa", "sms", "email"))


def hist(**kw) -> ContactHistory:
    kw.setdefault("reachable", {"wecom", "sms"})
    return ContactHistory(**kw)


def mk(days_ago: float, purpose="marketing", channel="wecom", text=None, mass=False) -> Sent:
    return Sent(at=NOON - dt.timedelta(days=days_ago), channel=channel, purpose=purpose,
                content_hash=content_hash(text) if text else None, mass=mass)


def test_allowed_uses_first_channel_in_priority():
    d = decide(hist(), purpose="marketing", now=NOON, config=CFG)
    assert d.allowed and d.channel == "wecom" and d.code == "ok"


def test_marketing_cap_boundary_second_message_allowed_third_refused():
    one = hist(sent=[mk(1)])
    two = hist(sent=[mk(1), mk(3)])
    assert decide(one, purpose="marketing", now=NOON, config=CFG).allowed
    d = decide(two, purpose="marketing", now=NOON, config=CFG)
    assert not d.allowed and d.code == "cap"
    assert d.reason == "已在 7 天内收到 2 条营销消息（上限 2 条）"


def test_marketing_window_edge_message_exactly_7_days_old_no_longer_counts():
    at_edge = hist(sent=[mk(1), mk(7)])
    inside = hist(sent=[mk(1), mk(6.99)])
    assert decide(at_edge, purpose="marketing", now=NOON, config=CFG).allowed
    assert not decide(inside, purpose="marketing", now=NOON, config=CFG).allowed


def test_service_messages_have_their_own_budget():
    h = hist(sent=[mk(1), mk(2)])  # marketing budget used up
    assert decide(h, purpose="service", now=NOON, config=CFG).allowed
    full = hist(sent=[mk(0.1, purpose="service") for _ in range(CFG.service_cap)])
    assert decide(full, purpose="service", now=NOON, config=CFG).code == "cap"


@pytest.mark.parametrize("local_hour,minute,quiet", [
    (20, 59, False), (21, 0, True), (23, 30, True), (3, 0, True), (8, 59, True), (9, 0, False), (14, 0, False),
])
def test_quiet_hours_boundaries_in_store_timezone(local_hour, minute, quiet):
    shanghai = dt.timezone(dt.timedelta(hours=8))
    now = dt.datetime(2026, 11, 20, local_hour, minute, tzinfo=shanghai)
    assert in_quiet_hours(now, CFG, "Asia/Shanghai") is quiet
    d = decide(hist(), purpose="marketing", now=now, config=CFG)
    assert d.allowed is (not quiet) and d.deferred is quiet
    # 催付 and shipping notices are expected answers: quiet hours do not hold them back
    assert decide(hist(), purpose="service", now=now, config=CFG).allowed


def test_duplicate_content_within_window_is_refused_whitespace_and_case_ignored():
    h = hist(sent=[mk(29, text="双11 回馈  礼包")])
    d = decide(h, purpose="service", now=NOON, config=CFG, text="双11 回馈 礼包")
    assert not d.allowed and d.code == "duplicate"
    old = hist(sent=[mk(30, text="双11 回馈 礼包")])
    assert decide(old, purpose="service", now=NOON, config=CFG, text="双11 回馈 礼包").allowed


def test_opted_out_channel_falls_back_to_the_next():
    d = decide(hist(opted_out={"wecom"}), purpose="marketing", now=NOON, config=CFG)
    assert d.allowed and d.channel == "sms"
    assert d.skipped == (("wecom", "客户已退订该渠道"), ("wechat-oa", "客户在该渠道没有联系方式"))


def test_opted_out_everywhere_is_refused_with_each_reason():
    d = decide(hist(opted_out={"wecom", "sms"}), purpose="marketing", now=NOON, config=CFG)
    assert not d.allowed and d.code == "unreachable"
    assert "wecom 客户已退订该渠道" in d.reason and "email 客户在该渠道没有联系方式" in d.reason


def test_pinned_channel_reports_its_own_reason():
    d = decide(hist(opted_out={"sms"}), purpose="marketing", now=NOON, config=CFG, channel="sms")
    assert not d.allowed and d.code == "opted_out"


def test_wecom_mass_message_cap_is_one_a_day():
    h = hist(sent=[mk(0.5, purpose="service", mass=True)])
    d = decide(h, purpose="service", now=NOON, config=CFG, mass=True)
    assert d.allowed and d.channel == "sms"  # WeCom used today: next channel
    h2 = hist(sent=[mk(1.01, purpose="service", mass=True)])
    assert decide(h2, purpose="service", now=NOON, config=CFG, mass=True).channel == "wecom"


def test_oa_window_and_quota():
    cfg = PolicyConfig(channel_priority=("wechat-oa",))
    opened = NOON - dt.timedelta(hours=47)
    h = ContactHistory(reachable={"wechat-oa"}, last_inbound={"wechat-oa": opened},
                       sent=[mk(0.01, purpose="service", channel="wechat-oa") for _ in range(4)])
    assert decide(h, purpose="service", now=NOON, config=cfg).allowed
    h.sent.append(mk(0.01, purpose="service", channel="wechat-oa"))
    assert decide(h, purpose="service", now=NOON, config=cfg).code == "platform_cap"
    closed = ContactHistory(reachable={"wechat-oa"}, last_inbound={"wechat-oa": NOON - dt.timedelta(hours=49)})
    assert decide(closed, purpose="marketing", now=NOON, config=cfg).code == "platform_cap"
    # outside the window, service notices go as template messages
    assert decide(closed, purpose="service", now=NOON, config=cfg).allowed


def test_config_validation_names_fields():
    with pytest.raises(PolicyConfigError) as err:
        PolicyConfig.from_dict({"marketing_cap": -1, "marketing_window_days": 0, "quiet_start": "25:00",
                                "channel_priority": ["sms", "sms"], "colour": "red"})
    assert set(err.value.problems) == {"marketing_cap", "marketing_window_days", "quiet_start",
                                       "channel_priority", "colour"}
    with pytest.raises(PolicyConfigError) as err2:
        PolicyConfig.from_dict({"channel_priority": ["sms", "sms"]})
    assert "channel_priority" in err2.value.problems
    assert PolicyConfig.from_dict(CFG.to_dict()) == CFG


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        decide(hist(), purpose="marketing", now=dt.datetime(2026, 1, 1), config=CFG)


# Quiet hours defer, never drop ---------------------------------------------------------------
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.mark.parametrize("local, until", [
    ("2026-11-20 21:00", "2026-11-21 09:00"), ("2026-11-20 23:30", "2026-11-21 09:00"),
    ("2026-11-21 00:10", "2026-11-21 09:00"), ("2026-11-21 08:59", "2026-11-21 09:00"),
])
def test_marketing_in_quiet_hours_is_deferred_to_their_end_not_dropped(local, until):
    now = dt.datetime.fromisoformat(local).replace(tzinfo=SHANGHAI)
    d = decide(hist(), purpose="marketing", now=now, config=CFG)
    assert not d.allowed and d.deferred and d.code == "deferred" and d.channel == "wecom"
    assert d.until == dt.datetime.fromisoformat(until).replace(tzinfo=SHANGHAI)
    assert d.reason.startswith("免打扰时段，已顺延至 ") and d.reason.endswith("09:00")
    assert quiet_hours_end(now, CFG, "Asia/Shanghai") == d.until


def test_a_send_the_rest_of_the_policy_refuses_is_refused_at_night_not_deferred():
    night = dt.datetime(2026, 11, 20, 23, 0, tzinfo=SHANGHAI)
    capped = decide(hist(sent=[mk(1), mk(2)]), purpose="marketing", now=night, config=CFG)
    assert capped.code == "cap" and capped.until is None
    gone = decide(hist(opted_out={"wecom", "sms"}), purpose="marketing", now=night, config=CFG)
    assert not gone.allowed and not gone.deferred


def test_a_brand_may_choose_skip_for_one_source_and_keep_defer_for_the_others():
    night = dt.datetime(2026, 11, 20, 23, 0, tzinfo=SHANGHAI)
    config = PolicyConfig.from_dict({"quiet_actions": {"campaign": "skip"}})
    assert config.quiet_action("campaign") == "skip" and config.quiet_action("automation") == "defer"
    skipped = decide(hist(), purpose="marketing", now=night, config=config, source="campaign")
    assert skipped.code == "quiet_hours" and skipped.until is None
    assert decide(hist(), purpose="marketing", now=night, config=config, source="automation").deferred
    assert config.to_dict()["quiet_actions"]["campaign"] == "skip"
    with pytest.raises(PolicyConfigError) as err:
        PolicyConfig.from_dict({"quiet_actions": {"campaign": "drop", "fax": "skip"}})
    assert set(err.value.problems) == {"quiet_actions.campaign", "quiet_actions.fax"}


def test_quiet_hours_follow_the_customers_store_timezone():
    # 22:30 in Shanghai is 15:30 in Paris (working hours) and 23:30 in Tokyo (quiet)
    now = dt.datetime(2026, 11, 20, 22, 30, tzinfo=SHANGHAI)
    assert decide(hist(tz="Europe/Paris"), purpose="marketing", now=now, config=CFG).allowed
    tokyo = decide(hist(tz="Asia/Tokyo"), purpose="marketing", now=now, config=CFG)
    assert tokyo.deferred and tokyo.until == dt.datetime(2026, 11, 21, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert until_label(tokyo.until, now, "Asia/Tokyo") == "明天 09:00"
