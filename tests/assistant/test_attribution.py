"""Attribution rules, their order, splits, handovers and the last-touch window (pure logic)."""
from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest

from assistant import attribution as attr

UTC = dt.timezone.utc
T0 = pd.Timestamp("2026-11-11 10:00", tz="UTC")


def config(**kw):
    c, errors = attr.validate_config(kw)
    assert errors == {}
    return c


def test_first_rule_in_the_configured_order_that_names_a_clerk_wins():
    cands = {"in_store": 1, "owner": 2, "last_touch": 3}
    assert attr.attribute(cands, config(order=["in_store", "owner", "last_touch"])) == [
        attr.Share(1, "in_store", 10000, True)]
    assert attr.attribute(cands, config(order=["owner", "in_store"])) == [attr.Share(2, "owner", 10000, True)]
    assert attr.attribute(cands, config(order=["last_touch", "owner"])) == [attr.Share(3, "last_touch", 10000, True)]


def test_a_rule_naming_nobody_falls_through_to_the_next():
    cands = {"in_store": None, "owner": None, "last_touch": 3}
    assert attr.attribute(cands, config()) == [attr.Share(3, "last_touch", 10000, True)]
    assert attr.attribute({"in_store": None, "owner": None, "last_touch": None}, config()) == []


def test_split_shares_between_two_different_clerks_only():
    c = config(order=["split", "owner", "last_touch"], split={"between": ["owner", "last_touch"], "first_share_bp": 7000})
    assert attr.attribute({"owner": 2, "last_touch": 3}, c) == [
        attr.Share(2, "split", 7000, True), attr.Share(3, "split", 3000, False)]
    # The same clerk on both sides: no split, the next rule gives them the whole order.
    assert attr.attribute({"owner": 2, "last_touch": 2}, c) == [attr.Share(2, "owner", 10000, True)]
    assert attr.attribute({"owner": None, "last_touch": 3}, c) == [attr.Share(3, "last_touch", 10000, True)]


@pytest.mark.parametrize("order", [["in_store", "owner", "last_touch"], ["split", "in_store", "owner"],
                                   ["last_touch", "split", "owner"], ["owner"]])
def test_frame_and_single_order_agree_on_every_combination(order):
    c = config(order=order, split={"between": ["owner", "last_touch"], "first_share_bp": 4000})
    combos = list(itertools.product([None, 1, 2], repeat=3))
    frame = pd.DataFrame({"order_id": range(len(combos)),
                          "in_store": [x[0] for x in combos], "owner": [x[1] for x in combos],
                          "last_touch": [x[2] for x in combos]}).astype({"in_store": float, "owner": float,
                                                                        "last_touch": float})
    got = attr.attribute_frame(frame, c)
    for i, (a, b, d) in enumerate(combos):
        expected = attr.attribute({"in_store": a, "owner": b, "last_touch": d}, c)
        rows = got[got["order_id"] == i].sort_values("primary", ascending=False, kind="stable")
        assert [attr.Share(int(r.clerk_id), r.rule, int(r.share_bp), bool(r.primary))
                for r in rows.itertuples()] == expected


def test_owner_is_the_one_bound_at_payment_time_after_a_handover():
    handover = pd.Timestamp("2026-11-10 00:00", tz="UTC")
    bindings = pd.DataFrame({
        "customer_id": [7, 7], "clerk_id": [1, 2],
        "since": [pd.Timestamp("2026-10-01", tz="UTC"), handover],
        "ended_at": [handover, pd.NaT]})
    orders = pd.DataFrame({"order_id": [100, 101, 102], "customer_id": [7, 7, 7],
                           "paid_at": [handover - pd.Timedelta(seconds=1), handover, T0]})
    owners = attr.owners_at(orders, bindings).set_index("order_id")["owner"]
    assert owners.to_dict() == {100: 1.0, 101: 2.0, 102: 2.0}


def test_an_ended_binding_without_successor_gives_no_owner():
    bindings = pd.DataFrame({"customer_id": [7], "clerk_id": [1], "since": [T0 - pd.Timedelta(days=30)],
                             "ended_at": [T0 - pd.Timedelta(days=1)]})
    orders = pd.DataFrame({"order_id": [1], "customer_id": [7], "paid_at": [T0]})
    assert np.isnan(attr.owners_at(orders, bindings)["owner"].iloc[0])


def test_last_touch_is_the_latest_message_inside_the_window_only():
    touches = pd.DataFrame({"customer_id": [7, 7, 8], "clerk_id": [1, 2, 3],
                            "sent_at": [T0 - pd.Timedelta(days=3), T0 - pd.Timedelta(days=1),
                                        T0 - pd.Timedelta(days=8)]})
    orders = pd.DataFrame({"order_id": [1, 2, 3], "customer_id": [7, 8, 7],
                           "paid_at": [T0, T0, T0 - pd.Timedelta(days=2)]})
    got = attr.last_touches(orders, touches, days=7).set_index("order_id")["last_touch"].to_dict()
    assert got[1] == 2.0          # the later of two messages
    assert np.isnan(got[2])       # 8 days before: outside a 7-day window
    assert got[3] == 1.0          # a message after the payment does not count


def test_config_validation_names_each_bad_field():
    _, errors = attr.validate_config({"order": ["owner", "owner", "psychic"], "last_touch_days": 0,
                                      "split": {"between": ["owner"], "first_share_bp": 10000}, "x": 1})
    assert set(errors) == {"order[1]", "order[2]", "last_touch_days", "split.between",
                           "split.first_share_bp", "x"}
    assert attr.validate_config([])[1] == {"": "must be an object"}


def test_months_are_cut_at_local_midnight():
    times = pd.Series(pd.to_datetime(["2026-10-31 15:59:59", "2026-10-31 16:00:00"], utc=True))
    assert attr.month_of(times, "Asia/Shanghai").tolist() == ["2026-10", "2026-11"]


@pytest.mark.parametrize("seed", range(4))
def test_plain_and_vectorised_candidates_agree(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    n = 40
    base = pd.Timestamp("2026-10-01", tz="UTC")
    orders = pd.DataFrame({"order_id": np.arange(n), "customer_id": rng.integers(1, 8, n),
                           "paid_at": base + pd.to_timedelta(rng.integers(0, 60 * 86400, n), unit="s"),
                           "clerk_id": np.where(rng.random(n) < 0.3, rng.integers(1, 5, n), np.nan)})
    rows = []
    for c in range(1, 8):
        start = base - pd.Timedelta(days=int(rng.integers(0, 30)))
        handover = start + pd.Timedelta(days=int(rng.integers(10, 80)))
        rows.append((c, int(rng.integers(1, 5)), start, handover if rng.random() < 0.6 else pd.NaT))
        if rng.random() < 0.5:
            rows.append((c, int(rng.integers(1, 5)), handover, pd.NaT))
    bindings = pd.DataFrame(rows, columns=["customer_id", "clerk_id", "since", "ended_at"])
    k = 30
    touches = pd.DataFrame({"customer_id": rng.integers(1, 8, k), "clerk_id": rng.integers(1, 5, k),
                            "sent_at": base + pd.to_timedelta(rng.integers(-10 * 86400, 60 * 86400, k), unit="s")})
    for df, cols in ((orders, ["paid_at"]), (bindings, ["since", "ended_at"]), (touches, ["sent_at"])):
        for c in cols:
            df[c] = pd.to_datetime(df[c], utc=True).dt.as_unit("us")
    plain = attr.candidates_plain(orders, bindings, touches, 7).set_index("order_id").sort_index()
    monkeypatch.setattr(attr, "SMALL_BATCH", 0)
    frame = attr.candidates_frame(orders, bindings, touches, 7).set_index("order_id").sort_index()
    for col in ("in_store", "owner", "last_touch"):
        assert plain[col].fillna(-1).tolist() == frame[col].fillna(-1).tolist(), col
    assert plain["owner_since"].isna().tolist() == frame["owner_since"].isna().tolist()


def _clicks(*rows):
    return pd.DataFrame(rows, columns=["order_id", "customer_id", "clerk_id", "clicked_at"])


def test_a_link_counts_for_its_clerk_when_the_buyer_clicked_it_within_the_window():
    orders = pd.DataFrame({"order_id": [1, 2, 3, 4], "customer_id": [10, 10, 11, 12],
                           "paid_at": [T0, T0, T0, T0]})
    clicks = _clicks(
        (1, 10, 5, T0 - pd.Timedelta(days=2)), (1, 10, 5, T0 - pd.Timedelta(hours=1)),  # the latest click decides
        (2, 10, 5, T0 - pd.Timedelta(days=8)),                                         # outside 7 days
        (3, 99, 5, T0 - pd.Timedelta(hours=1)),                                        # someone else's link
        (4, 12, 6, T0 + pd.Timedelta(hours=1)))                                        # clicked after paying
    got = attr.link_candidates(orders, clicks, 7)
    assert got["order_id"].tolist() == [1]
    assert got["link"].tolist() == [5.0] and got["link_at"].tolist() == [T0 - pd.Timedelta(hours=1)]
    assert attr.link_candidates(orders, _clicks(), 7).empty


def test_the_default_precedence_is_in_store_then_link_then_owner_then_last_touch():
    c = config()
    assert c["order"] == ["in_store", "link", "owner", "last_touch"]
    assert attr.attribute({"in_store": 1, "link": 2, "owner": 3, "last_touch": 4}, c)[0].clerk_id == 1
    assert attr.attribute({"in_store": None, "link": 2, "owner": 3, "last_touch": 4}, c) == [
        attr.Share(2, "link", 10000, True)]
    cands = attr.with_links(pd.DataFrame({"order_id": [1, 2], "in_store": [np.nan, np.nan], "owner": [3.0, 3.0],
                                          "last_touch": [np.nan, np.nan]}),
                            pd.DataFrame({"order_id": [2], "link": [2.0], "link_at": [T0]}))
    shares = attr.attribute_frame(cands, c)
    assert shares.sort_values("order_id")[["clerk_id", "rule"]].values.tolist() == [[3, "owner"], [2, "link"]]
