"""Staff management: create clerks, deactivate, and hand a leaving clerk's followers over."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.staff.actions import HANDOVER, hand_over_followers
from models import FollowerBinding, Role, Staff
from tests import factories


@pytest.fixture
def store_staff(db):
    with db.transaction() as s:
        store = factories.store(s)
        other = factories.store(s)
        ids = {
            "store": store.id, "other_store": other.id,
            "leaving": factories.staff(s, Role.clerk, store, username="leaving").id,
            "taking": factories.staff(s, Role.clerk, store, username="taking").id,
            "elsewhere": factories.staff(s, Role.clerk, other, username="elsewhere").id,
            "manager": factories.staff(s, Role.manager, store, username="manager1").id,
            "hq": factories.staff(s, Role.hq, None, username="hq").id,
        }
    return ids


def bindings(db, clerk_id):
    with db.Session() as s:
        return {(b.customer_id, b.channel, b.is_owner, b.ended_at is None, b.end_reason)
                for b in s.scalars(select(FollowerBinding).where(FollowerBinding.clerk_id == clerk_id))}


def test_handover_ends_old_bindings_and_makes_the_new_clerk_owner(db, store_staff):
    with db.transaction() as s:
        leaving, taking = s.get(Staff, store_staff["leaving"]), s.get(Staff, store_staff["taking"])
        owned = [factories.customer(s) for _ in range(3)]
        for c in owned:
            factories.follow(s, c, leaving, channel="wecom", owner=True)
        # already follows the new clerk too (not as owner): promoted, no duplicate binding
        both = owned[0]
        factories.follow(s, both, taking, channel="wechat-oa", owner=False)
        # follows the leaving clerk but is owned by someone else: moves without ownership
        shared = factories.customer(s)
        factories.follow(s, shared, s.get(Staff, store_staff["elsewhere"]), channel="wecom", owner=True)
        factories.follow(s, shared, leaving, channel="wecom", owner=False)
        ids = [c.id for c in owned]
        shared_id = shared.id
    with db.transaction() as s:
        result = hand_over_followers(s, store_staff["leaving"], store_staff["taking"])
    assert (result.moved, result.owners) == (4, 3)
    assert all(not active and reason == HANDOVER for _c, _ch, _o, active, reason in bindings(db, store_staff["leaving"]))
    assert bindings(db, store_staff["taking"]) == {
        (ids[0], "wechat-oa", True, True, None),
        (ids[1], "wecom", True, True, None), (ids[2], "wecom", True, True, None),
        (shared_id, "wecom", False, True, None),
    }
    with db.Session() as s:  # one active owner per customer still holds
        owners = s.scalars(select(FollowerBinding.customer_id).where(
            FollowerBinding.is_owner.is_(True), FollowerBinding.ended_at.is_(None))).all()
        assert sorted(owners) == sorted(ids + [shared_id])


def test_handover_back_revives_the_old_binding_instead_of_duplicating_it(db, store_staff):
    with db.transaction() as s:
        c = factories.customer(s)
        factories.follow(s, c, s.get(Staff, store_staff["leaving"]), channel="wecom", owner=True)
    with db.transaction() as s:
        hand_over_followers(s, store_staff["leaving"], store_staff["taking"])
    with db.transaction() as s:
        hand_over_followers(s, store_staff["taking"], store_staff["leaving"])
    assert bindings(db, store_staff["leaving"]) == {(c.id, "wecom", True, True, None)}


def test_handover_rolls_back_as_a_whole(db, store_staff):
    with db.transaction() as s:
        c = factories.customer(s)
        factories.follow(s, c, s.get(Staff, store_staff["leaving"]), channel="wecom", owner=True)
    with pytest.raises(RuntimeError):
        with db.transaction() as s:
            hand_over_followers(s, store_staff["leaving"], store_staff["taking"])
            raise RuntimeError("something later in the same action failed")
    assert bindings(db, store_staff["leaving"]) == {(c.id, "wecom", True, True, None)}
    assert bindings(db, store_staff["taking"]) == set()


def test_handover_and_deactivate_over_the_api(client, auth, db, store_staff):
    with db.transaction() as s:
        c = factories.customer(s)
        factories.follow(s, c, s.get(Staff, store_staff["leaving"]), channel="wecom", owner=True)
    auth.login("manager1")
    resp = client.post(f"/api/v1/staff/{store_staff['leaving']}/deactivate",
                       json={"handover_to": store_staff["taking"]})
    assert resp.status_code == 200 and resp.get_json()["moved"] == 1
    with db.Session() as s:
        assert s.get(Staff, store_staff["leaving"]).active is False
    listed = {m["username"]: m for m in client.get("/api/v1/staff").get_json()["staff"]}
    assert listed["taking"]["followers"] == 1 and "elsewhere" not in listed  # manager: own store only
    # the deactivated clerk can no longer log in
    auth.logout()
    assert auth.login("leaving").status_code == 401


def test_a_deactivated_clerks_open_session_stops_working(client, auth, app, db, store_staff):
    auth.login("leaving")
    assert client.get("/api/v1/me").status_code == 200
    other = app.test_client()
    resp = other.post("/auth/login", json={"username": "hq", "password": "demo"})
    other.post(f"/api/v1/staff/{store_staff['leaving']}/deactivate", json={},
               headers={"X-CSRF-Token": resp.get_json()["csrf_token"]})
    assert client.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("body, field", [
    ({"username": "", "display_name": "新人", "password": "longenough"}, "username"),
    ({"username": "new1", "display_name": "新人", "password": "short"}, "password"),
    ({"username": "taking", "display_name": "新人", "password": "longenough"}, "username"),
    ({"username": "new1", "display_name": "新人", "password": "longenough", "role": "admin"}, "role"),
    ({"username": "new1", "display_name": "新人", "password": "longenough", "store_id": 99999}, "store_id"),
])
def test_bad_staff_is_refused_naming_the_field(client, auth, store_staff, body, field):
    auth.login("hq")
    body = {"store_id": store_staff["store"], **body}
    resp = client.post("/api/v1/staff", json=body)
    assert resp.status_code == 422 and field in resp.get_json()["fields"]


def test_hq_creates_a_clerk_who_can_log_in(client, auth, store_staff):
    auth.login("hq")
    resp = client.post("/api/v1/staff", json={"username": "new.clerk", "display_name": "新导购",
                                               "password": "longenough", "store_id": store_staff["store"]})
    assert resp.status_code == 201 and resp.get_json()["staff"]["role"] == "clerk"
    auth.logout()
    assert auth.login("new.clerk", "longenough").status_code == 200


def test_clerks_cannot_manage_staff_and_managers_only_their_store(client, auth, store_staff):
    auth.login("leaving")
    assert client.get("/api/v1/staff").status_code == 403
    auth.logout()
    auth.login("manager1")
    resp = client.post(f"/api/v1/staff/{store_staff['elsewhere']}/handover", json={"to_clerk_id": store_staff["taking"]})
    assert resp.status_code == 404
    resp = client.post("/api/v1/staff", json={"username": "m2", "display_name": "x", "password": "longenough", "role": "hq"})
    assert resp.status_code == 422 and "role" in resp.get_json()["fields"]


def test_channel_accounts_list_never_shows_settings(client, auth, db, store_staff):
    from models import ChannelAccount

    with db.transaction() as s:
        s.add(ChannelAccount(kind="wecom", name="corp", settings={"secret": "s3cr3t"}))
    auth.login("hq")
    data = client.get("/api/v1/channel-accounts").get_json()
    assert data["channel_accounts"][0]["kind"] == "wecom"
    assert "s3cr3t" not in str(data)
