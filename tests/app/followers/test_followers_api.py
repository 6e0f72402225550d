"""The follower book API: scoping by role, filters, paging, the profile, the clerk's own tags."""
from __future__ import annotations

import datetime as dt

import pytest

from models.base import utcnow

from assistant.tags import retag_all
from tests import factories as f

UTC = dt.timezone.utc


@pytest.fixture
def book(db):
    with db.transaction() as s:
        c1, c2, c3, _m1, _hq = f.two_stores(s)
        p = f.product(s, usage_days=30, price_fen=12000)
        mine = f.customer(s, name="王小美", phone="13800001234", address="北京大学 36 楼")
        f.order(s, mine, [(p, 1)], paid_at=utcnow() - dt.timedelta(days=3))
        f.order(s, mine, [(p, 2)], paid_at=utcnow() - dt.timedelta(days=1))
        also_mine = f.customer(s, name="李雷", phone="13900005678")
        f.order(s, also_mine, [(p, 1)], status="created")
        theirs = f.customer(s, name="韩梅梅", phone="13700001234")
        far = f.customer(s, name="张三", phone="13600001234")
        for cust, clerk in ((mine, c1), (also_mine, c1), (theirs, c2), (far, c3)):
            f.follow(s, cust, clerk)
        ids = {"mine": mine.id, "also_mine": also_mine.id, "theirs": theirs.id, "far": far.id}
        retag_all(s)
    return ids


def listed(client, **params):
    resp = client.get("/api/v1/followers", query_string=params)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_follower_list_is_scoped_by_role(client, auth, book):
    auth.login("c1")
    assert {i["id"] for i in listed(client)["items"]} == {book["mine"], book["also_mine"]}
    auth.login("m1")
    assert {i["id"] for i in listed(client)["items"]} == {book["mine"], book["also_mine"], book["theirs"]}
    auth.login("hq")
    assert listed(client)["total"] == 4


def test_filters_by_stage_tag_and_search(client, auth, book):
    auth.login("c1")
    body = listed(client, stage="repeat")
    assert [i["id"] for i in body["items"]] == [book["mine"]]
    assert body["stages"] == {"repeat": 1, "prospect": 1}
    assert [i["id"] for i in listed(client, stage="prospect,new")["items"]] == [book["also_mine"]]
    assert [i["id"] for i in listed(client, tag="campus")["items"]] == [book["mine"]]
    assert [i["id"] for i in listed(client, q="1234")["items"]] == [book["mine"]]  # phone tail, own only
    assert [i["id"] for i in listed(client, q="李")["items"]] == [book["also_mine"]]
    assert listed(client, q="%")["items"] == []


def test_rows_carry_tags_with_reasons(client, auth, book):
    auth.login("c1")
    row = next(i for i in listed(client)["items"] if i["id"] == book["mine"])
    stage = row["tags"][0]
    assert (stage["name"], stage["label"], stage["source"]) == ("stage:repeat", "老客", "auto")
    assert stage["reason"] == "已付款 2 单，上次购买 1 天前"
    assert row["stage_label"] == "老客" and row["phone_tail"] == "1234" and row["total_spent"] == "360.00"



def test_a_row_shows_the_two_most_useful_tags_and_always_the_clerks_own(client, auth, book):
    auth.login("c1")
    row = next(i for i in listed(client)["items"] if i["id"] == book["also_mine"])
    assert [t["name"] for t in row["row_tags"]][0] == "unpaid"  # what to act on first; stage is beside the name
    for name in ("喜欢玫瑰香", "周末到店"):
        assert client.post(f"/api/v1/customers/{book['also_mine']}/tags", json={"name": name}).status_code in (200, 201)
    row = next(i for i in listed(client)["items"] if i["id"] == book["also_mine"])
    assert [t["label"] for t in row["row_tags"]] == ["待催付", "周末到店"]  # the newest own tag
    assert all(t["group"] != "stage" for t in row["row_tags"])


def test_tag_chips_count_what_each_tag_would_show(client, auth, book):
    auth.login("c1")
    chips = {c["name"]: c for c in listed(client)["tags"]}
    assert chips["campus"]["count"] == 1 and chips["campus"]["label"] == "校园地址"
    assert chips["unpaid"]["count"] == 1
    assert not any(name.startswith("stage:") for name in chips)  # stages have their own chips
    narrowed = listed(client, stage="repeat", tag="campus")
    assert {c["name"] for c in narrowed["tags"]} >= {"campus"} and "unpaid" not in {c["name"] for c in narrowed["tags"]}
    assert narrowed["stages"] == {"repeat": 1}  # stage chips count within the chosen tag
    assert [c["name"] for c in listed(client, tag="nobody-has-this")["tags"]] == list(chips)

def test_paging(client, auth, book):
    auth.login("hq")
    first = listed(client, per_page=3, page=1)
    second = listed(client, per_page=3, page=2)
    assert len(first["items"]) == 3 and len(second["items"]) == 1
    assert {i["id"] for i in first["items"] + second["items"]} == set(book.values())


@pytest.mark.parametrize("params, field", [({"page": "0"}, "page"), ({"per_page": "500"}, "per_page"),
                                           ({"stage": "vip"}, "stage"), ({"page": "x"}, "page")])
def test_bad_list_parameters_are_named(client, auth, book, params, field):
    auth.login("c1")
    resp = client.get("/api/v1/followers", query_string=params)
    assert resp.status_code == 422 and field in resp.get_json()["fields"]


def test_profile_has_tags_orders_and_bindings(client, auth, book):
    auth.login("c1")
    body = client.get(f"/api/v1/customers/{book['mine']}").get_json()
    names = [t["name"] for t in body["tags"]]
    assert names[0] == "stage:repeat" and "campus" in names
    assert all(t["reason"] for t in body["tags"])
    assert [o["amount"] for o in body["orders"]] == ["240.00", "120.00"]
    assert body["bindings"][0]["is_owner"] is True


def test_clerk_adds_and_removes_own_tags(client, auth, book):
    auth.login("c1")
    url = f"/api/v1/customers/{book['mine']}/tags"
    resp = client.post(url, json={"name": "喜欢红色"})
    assert resp.status_code == 201
    tag = next(t for t in resp.get_json()["tags"] if t["name"] == "喜欢红色")
    assert tag["source"] == "manual"
    assert client.post(url, json={"name": "  "}).status_code == 422
    # Manual tags are listed and searchable like the rules' tags.
    assert [i["id"] for i in listed(client, tag="喜欢红色")["items"]] == [book["mine"]]
    # Rule tags are not the clerk's to delete; their own are.
    assert client.delete(url, json={"name": "campus"}).status_code == 404
    assert client.delete(url, json={"name": "喜欢红色"}).status_code == 200
    assert listed(client, tag="喜欢红色")["items"] == []


def test_manual_tag_outlives_a_retag(client, auth, book, db):
    auth.login("c1")
    client.post(f"/api/v1/customers/{book['mine']}/tags", json={"name": "campus"})
    with db.transaction() as s:
        retag_all(s)
    tags = client.get(f"/api/v1/customers/{book['mine']}").get_json()["tags"]
    assert next(t for t in tags if t["name"] == "campus")["source"] == "manual"
    # Once the clerk lets go of it, the rule's own tag (and reason) is back at once.
    tags = client.delete(f"/api/v1/customers/{book['mine']}/tags/campus").get_json()["tags"]
    assert next(t for t in tags if t["name"] == "campus")["source"] == "auto"


def test_tags_on_customers_out_of_scope_are_404(client, auth, book):
    auth.login("c1")
    assert client.post(f"/api/v1/customers/{book['theirs']}/tags", json={"name": "x"}).status_code == 404
    assert client.delete(f"/api/v1/customers/{book['theirs']}/tags", json={"name": "x"}).status_code == 404
