"""Logging in and out as a person: throttling, server-side logout, password changes, login CSRF,
and the pages' framing headers (penetration test, issue 22, findings 6, 7 and 9)."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from app.counters import MemoryCounters
from models import Role, Staff
from tests import factories as f


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake_time(app) -> FakeTime:
    """The app's counters on a clock moved by hand (lockouts last minutes to hours)."""
    clock = FakeTime()
    app.extensions["daogou.counters"] = MemoryCounters(clock=clock)
    return clock


@pytest.fixture
def people(db):
    with db.transaction() as s:
        store = f.store(s)
        f.staff(s, username="clerk9", store=store)
        f.staff(s, username="clerk8", store=store)
        f.staff(s, username="hq9", role=Role.hq)
    return store.id


def login(client, username, password="demo", **headers):
    return client.post("/auth/login", json={"username": username, "password": password}, headers=headers)


# Throttling (finding 6) --------------------------------------------------------------------------

def test_five_wrong_passwords_lock_the_username_with_a_429_saying_when_to_retry(client, people):
    assert [login(client, "clerk9", "wrong").status_code for _ in range(5)] == [401] * 5
    locked = login(client, "clerk9")  # the right password, too late
    assert locked.status_code == 429
    assert "分钟" in locked.get_json()["error"] and "再试" in locked.get_json()["error"]
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert login(client, "clerk8").status_code == 200  # another username is not locked


def test_sixty_wrong_passwords_then_the_right_one_is_still_refused(client, people):
    codes = [login(client, "clerk9", f"guess{i}").status_code for i in range(60)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    assert login(client, "clerk9").status_code == 429


def test_unknown_usernames_are_throttled_like_known_ones(client, people):
    codes = [login(client, "nobody", "x").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]


def test_the_lockout_ends_and_each_one_lasts_longer(client, people, fake_time):
    for _ in range(5):
        login(client, "clerk9", "wrong")
    fake_time.now += 15 * 60 - 5
    assert login(client, "clerk9").status_code == 429
    fake_time.now += 10
    assert login(client, "clerk9").status_code == 200
    for _ in range(5):
        login(client, "clerk9", "wrong")
    fake_time.now += 15 * 60 + 5
    second = login(client, "clerk9")
    assert second.status_code == 429 and int(second.headers["Retry-After"]) <= 15 * 60
    fake_time.now += 15 * 60
    assert login(client, "clerk9").status_code == 200


def test_a_right_password_clears_the_usernames_failures(client, people):
    for _ in range(2):
        assert [login(client, "clerk9", "wrong").status_code for _ in range(4)] == [401] * 4
        assert login(client, "clerk9").status_code == 200


def test_one_address_guessing_many_usernames_is_throttled(client, people):
    codes = [login(client, f"user{i}", "x").status_code for i in range(31)]
    assert codes[:30] == [401] * 30 and codes[30] == 429
    assert login(client, "clerk9").status_code == 429  # from the same address
    elsewhere = client.post("/auth/login", json={"username": "clerk9", "password": "demo"},
                            environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert elsewhere.status_code == 200


def test_every_process_sees_the_same_failures_through_redis(app_factory, redis_url, db):
    username = f"clerk-{uuid.uuid4().hex[:12]}"
    with db.transaction() as s:
        f.staff(s, username=username, store=f.store(s))
    one, two = (app_factory(REDIS_URL=redis_url).test_client() for _ in range(2))
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.1"  # Redis outlives this test
    one.environ_base["REMOTE_ADDR"] = two.environ_base["REMOTE_ADDR"] = address
    for client in (one, two, one, two, one):
        assert login(client, username, "wrong").status_code == 401
    assert login(two, username).status_code == 429


# Passwords (finding 6) ---------------------------------------------------------------------------

def test_a_new_account_must_change_its_password_and_me_says_so(app, client, auth, people):
    auth.login("hq9")
    created = client.post("/api/v1/staff", json={"username": "newbie", "display_name": "新人", "password": "Start-2026",
                                                 "role": "clerk", "store_id": people})
    assert created.status_code == 201
    newbie = app.test_client()
    assert login(newbie, "newbie", "Start-2026").get_json()["me"]["must_change_password"] is True
    token = newbie.get("/api/v1/me").get_json()["csrf_token"]
    changed = newbie.post("/api/v1/me/password", headers={"X-CSRF-Token": token},
                          json={"current_password": "Start-2026", "new_password": "my-own-words-7"})
    assert changed.status_code == 200 and changed.get_json()["me"]["must_change_password"] is False
    assert newbie.get("/api/v1/me").get_json()["me"]["must_change_password"] is False
    again = app.test_client()
    assert login(again, "newbie", "Start-2026").status_code == 401
    assert login(again, "newbie", "my-own-words-7").status_code == 200


@pytest.mark.parametrize("body, field", [
    ({"current_password": "wrong-one", "new_password": "my-own-words-7"}, "current_password"),
    ({"current_password": "demo", "new_password": "short7"}, "new_password"),
    ({"current_password": "demo", "new_password": "12345678"}, "new_password"),
    ({"current_password": "demo", "new_password": "clerk9"}, "new_password"),
    ({"new_password": "my-own-words-7"}, "current_password"),
    ({"current_password": "demo", "new_password": "x" * 129}, "new_password"),
])
def test_a_password_change_needs_the_current_password_and_a_strong_new_one(client, auth, people, body, field):
    auth.login("clerk9")
    resp = client.post("/api/v1/me/password", json=body)
    assert resp.status_code == 422 and field in resp.get_json()["fields"]
    assert login(client, "clerk9").status_code == 200  # nothing changed


def test_wrong_current_passwords_count_towards_the_lockout(client, auth, people):
    auth.login("clerk9")
    for _ in range(5):
        assert client.post("/api/v1/me/password", json={"current_password": "guess", "new_password": "my-own-words-7"}
                           ).status_code == 422
    assert client.post("/api/v1/me/password", json={"current_password": "demo", "new_password": "my-own-words-7"}
                       ).status_code == 429


def test_changing_the_password_ends_the_other_sessions_but_not_this_one(app, client, auth, people):
    other = app.test_client()
    assert login(other, "clerk9").status_code == 200
    auth.login("clerk9")
    assert client.post("/api/v1/me/password", json={"current_password": "demo", "new_password": "my-own-words-7"}
                       ).status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    assert other.get("/api/v1/me").status_code == 401


def test_staff_added_from_the_cli_with_a_generated_or_weak_password_must_change_it(app, db):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["staff", "add", "hq2", "--role", "hq"]).exit_code == 0
    assert runner.invoke(args=["staff", "add", "hq3", "--role", "hq", "--password", "demo"]).exit_code == 0
    assert runner.invoke(args=["staff", "add", "hq4", "--role", "hq", "--password", "a-strong-one-42"]).exit_code == 0
    with db.Session() as s:
        flags = dict(s.execute(select(Staff.username, Staff.must_change_password)).all())
    assert flags == {"hq2": True, "hq3": True, "hq4": False}


# Logout (finding 7) ------------------------------------------------------------------------------

def test_a_cookie_captured_before_logout_no_longer_reads_or_writes(app, client, auth, people):
    auth.login("clerk9")
    stolen = client.get_cookie("session").value
    token = client.environ_base["HTTP_X_CSRF_TOKEN"]
    assert auth.logout().status_code == 200
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/api/v1/me").status_code == 401
    assert thief.post("/api/v1/me/locale", json={"locale": "en"}, headers={"X-CSRF-Token": token}).status_code == 401
    assert login(client, "clerk9").status_code == 200  # logging in again works


# Login CSRF (finding 9) --------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Referer": "https://evil.example/page"},
    {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"},
    {"Sec-Fetch-Site": "same-site"},
])
def test_a_login_posted_from_another_site_is_refused(client, people, headers):
    resp = login(client, "clerk9", **headers)
    assert resp.status_code == 403
    form = client.post("/auth/login", data={"username": "clerk9", "password": "demo"}, headers=headers)
    assert form.status_code == 403
    assert client.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("headers", [
    {},  # not a browser: an integrator's script, curl
    {"Origin": "http://localhost"},
    {"Referer": "http://localhost/console/"},
    {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"},
    {"Origin": "https://daogou.example.com", "X-Forwarded-Host": "daogou.example.com"},
])
def test_a_login_from_our_own_pages_is_accepted(client, people, headers):
    assert login(client, "clerk9", **headers).status_code == 200


# Framing (finding 9) -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/console/", "/hq/"])
def test_the_console_and_head_office_pages_cannot_be_framed(client, path):
    resp = client.get(path)
    assert resp.status_code == 200
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]


def test_api_answers_cannot_be_framed_either(client):
    assert client.get("/healthz").headers["X-Frame-Options"] == "DENY"
