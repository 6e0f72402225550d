import pytest

from tests import factories as f


@pytest.fixture
def shop(db):
    with db.transaction() as s:
        team = f.two_stores(s)
        mine, theirs, far = f.customer(s), f.customer(s), f.customer(s)
        f.follow(s, mine, team.c1)
        f.follow(s, theirs, team.c2)
        f.follow(s, far, team.c3)
    return {"mine": mine.id, "theirs": theirs.id, "far": far.id}


def test_clerk_reads_own_follower(client, auth, shop):
    auth.login("c1")
    assert client.get(f"/api/v1/customers/{shop['mine']}").status_code == 200


def test_clerk_reading_another_clerks_customer_gets_404(client, auth, shop):
    auth.login("c1")
    resp = client.get(f"/api/v1/customers/{shop['theirs']}")
    assert resp.status_code == 404
    assert "name" not in resp.get_json()
    assert client.get("/api/v1/customers/999999").get_json() == resp.get_json()


def test_manager_sees_own_store_only(client, auth, shop):
    auth.login("m1")
    assert client.get(f"/api/v1/customers/{shop['theirs']}").status_code == 200
    assert client.get(f"/api/v1/customers/{shop['far']}").status_code == 404


def test_head_office_sees_everyone(client, auth, shop):
    auth.login("hq")
    assert all(client.get(f"/api/v1/customers/{cid}").status_code == 200 for cid in shop.values())


def test_anonymous_gets_401(client, shop):
    assert client.get(f"/api/v1/customers/{shop['mine']}").status_code == 401
