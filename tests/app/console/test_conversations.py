"""Conversations API: scoping, paging, read marks, idempotent sends, quick replies, uploads, events."""
from __future__ import annotations

import io

import pytest

from app.messaging.actions import receive_message
from models import ConsoleEvent, Conversation, Message, OutboxEntry, Role, Staff
from sqlalchemy import func, select
from tests import factories


@pytest.fixture
def brand(db):
    """A store with two clerks, each with a follower reachable on the loopback channel."""
    with db.transaction() as s:
        store = factories.store(s)
        clerk1 = factories.staff(s, Role.clerk, store, username="clerk1")
        clerk2 = factories.staff(s, Role.clerk, store, username="clerk2")
        factories.staff(s, Role.manager, store, username="manager1")
        other_store = factories.store(s)
        factories.staff(s, Role.manager, other_store, username="manager2")
        factories.staff(s, Role.hq, None, username="hq")
        mine = factories.customer(s, name="陈静")
        theirs = factories.customer(s, name="周其他")
        for cust, clerk in ((mine, clerk1), (theirs, clerk2)):
            factories.follow(s, cust, clerk, channel="loopback")
            factories.identity(s, cust, "loopback", f"lb-{cust.id}")
        return {"clerk1": clerk1.id, "clerk2": clerk2.id, "mine": mine.id, "theirs": theirs.id}


def customer_writes(db, customer_id: int, body: str, external_id: str) -> int:
    with db.transaction() as s:
        msg, _ = receive_message(s, channel="loopback", external_id=external_id, customer_id=customer_id, body=body)
        return msg.conversation_id


def test_clerk_lists_own_conversations_newest_first_with_unread_counts(client, auth, db, brand):
    first = customer_writes(db, brand["mine"], "在吗", "m1")
    customer_writes(db, brand["mine"], "面霜还有吗", "m2")
    customer_writes(db, brand["theirs"], "别人的消息", "t1")
    with db.transaction() as s:
        extra = factories.customer(s, name="刘洋")
        factories.follow(s, extra, s.get(Staff, brand["clerk1"]), channel="loopback")
        extra_id = extra.id
    newer = customer_writes(db, extra_id, "最新一条", "m3")
    auth.login("clerk1")
    data = client.get("/api/v1/conversations").get_json()
    assert [c["id"] for c in data["conversations"]] == [newer, first]
    assert data["conversations"][1]["unread_count"] == 2
    assert data["conversations"][1]["last_message_preview"] == "面霜还有吗"
    assert data["conversations"][1]["customer"]["name"] == "陈静"
    assert data["unread_total"] == 3


def test_clerk_cannot_read_or_write_another_clerks_conversation(client, auth, db, brand):
    theirs = customer_writes(db, brand["theirs"], "别人的消息", "t1")
    auth.login("clerk1")
    assert client.get(f"/api/v1/conversations/{theirs}").status_code == 404
    assert client.get(f"/api/v1/conversations/{theirs}/messages").status_code == 404
    resp = client.post(f"/api/v1/conversations/{theirs}/messages", json={"body": "hi", "client_id": "x" * 12})
    assert resp.status_code == 404
    assert client.post("/api/v1/conversations", json={"customer_id": brand["theirs"]}).status_code == 404


def test_manager_reads_store_conversations_but_cannot_send_in_them(client, auth, db, brand):
    conv = customer_writes(db, brand["mine"], "在吗", "m1")
    auth.login("manager1")
    assert client.get(f"/api/v1/conversations/{conv}/messages").status_code == 200
    resp = client.post(f"/api/v1/conversations/{conv}/messages", json={"body": "hi", "client_id": "y" * 12})
    assert resp.status_code == 403
    auth.logout()
    auth.login("manager2")
    assert client.get(f"/api/v1/conversations/{conv}/messages").status_code == 404


def test_reading_messages_pages_by_before_id_and_marks_the_thread_read(client, auth, db, brand):
    for i in range(5):
        conv = customer_writes(db, brand["mine"], f"第{i}条", f"m{i}")
    auth.login("clerk1")
    page = client.get(f"/api/v1/conversations/{conv}/messages?limit=2").get_json()
    assert [m["body"] for m in page["messages"]] == ["第3条", "第4条"] and page["more"] is True
    older = client.get(f"/api/v1/conversations/{conv}/messages?limit=10&before_id={page['messages'][0]['id']}").get_json()
    assert [m["body"] for m in older["messages"]] == ["第0条", "第1条", "第2条"] and older["more"] is False
    with db.Session() as s:
        assert s.get(Conversation, conv).unread_count == 0
    assert client.get(f"/api/v1/conversations/{conv}/messages?before_id=abc").status_code == 422


def test_send_with_the_same_client_id_twice_sends_once(client, auth, db, brand):
    conv = customer_writes(db, brand["mine"], "在吗", "m1")
    auth.login("clerk1")
    body = {"body": "有货，给您留一瓶", "client_id": "c-0123456789ab"}
    first = client.post(f"/api/v1/conversations/{conv}/messages", json=body)
    again = client.post(f"/api/v1/conversations/{conv}/messages", json=body)
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json()["message"]["id"] == again.get_json()["message"]["id"]
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxEntry)) == 1
        # sync jobs: the loopback channel delivered it
        assert s.scalar(select(Message.status).where(Message.client_id == body["client_id"])).value == "delivered"


def test_a_client_id_of_another_conversation_is_a_conflict_not_a_leak(client, auth, db, brand):
    with db.transaction() as s:
        cust = factories.customer(s)
        factories.follow(s, cust, s.get(Staff, brand["clerk1"]), channel="loopback")
        factories.identity(s, cust, "loopback", "lb-x")
        second = cust.id
    conv_a = customer_writes(db, brand["mine"], "a", "a1")
    conv_b = customer_writes(db, second, "b", "b1")
    auth.login("clerk1")
    body = {"body": "一条", "client_id": "shared-client-id-1"}
    assert client.post(f"/api/v1/conversations/{conv_a}/messages", json=body).status_code == 201
    resp = client.post(f"/api/v1/conversations/{conv_b}/messages", json=body)
    assert resp.status_code == 409
    assert "client_id" in resp.get_json()["fields"]


@pytest.mark.parametrize("body, field", [
    ({"body": "", "client_id": "c-000000000001"}, "body"),
    ({"body": "x", "client_id": "short"}, "client_id"),
    ({"body": "x", "type": "video"}, "type"),
    ({"type": "image", "payload": {"url": "javascript:alert(1)"}}, "payload.url"),
    ({"type": "product", "payload": {"price": "1.00"}}, "payload.sku"),
])
def test_bad_messages_are_refused_naming_the_field(client, auth, db, brand, body, field):
    conv = customer_writes(db, brand["mine"], "在吗", "m1")
    auth.login("clerk1")
    resp = client.post(f"/api/v1/conversations/{conv}/messages", json=body)
    assert resp.status_code == 422
    assert field in resp.get_json()["fields"]


def test_message_text_is_stored_and_returned_verbatim_never_escaped_into_html(client, auth, db, brand):
    evil = '<img src=x onerror="alert(1)">'
    conv = customer_writes(db, brand["mine"], evil, "m1")
    auth.login("clerk1")
    data = client.get(f"/api/v1/conversations/{conv}/messages").get_json()
    assert data["messages"][0]["body"] == evil  # the console renders it with textContent


def test_clerk_opens_a_thread_with_a_follower_once(client, auth, db, brand):
    auth.login("clerk1")
    first = client.post("/api/v1/conversations", json={"customer_id": brand["mine"]})
    again = client.post("/api/v1/conversations", json={"customer_id": brand["mine"]})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["conversation"]["id"] == again.get_json()["conversation"]["id"]
    assert client.post("/api/v1/conversations", json={"customer_id": "1"}).status_code == 422


def test_event_cursor_and_replay_only_cover_the_callers_rooms(client, auth, db, brand):
    auth.login("clerk1")
    cursor = client.get("/api/v1/events").get_json()["last_event_id"]
    customer_writes(db, brand["theirs"], "别人的", "t1")
    customer_writes(db, brand["mine"], "我的", "m1")
    data = client.get(f"/api/v1/events?after={cursor}").get_json()
    assert [e["data"]["message"]["body"] for e in data["events"]] == ["我的"]
    assert data["events"][0]["name"] == "message.created"
    assert data["last_event_id"] > cursor
    assert client.get("/api/v1/events?after=-1").status_code == 422


def test_replay_pages_through_many_missed_events(client, auth, db, brand):
    from app.console.events import events_after

    auth.login("clerk1")
    for i in range(7):
        customer_writes(db, brand["mine"], f"第{i}条", f"m{i}")
    with db.Session() as s:
        first = events_after(s, ["clerk:%d" % brand["clerk1"]], 0, limit=5)
        assert first["more"] is True and len(first["events"]) == 5
        rest = events_after(s, ["clerk:%d" % brand["clerk1"]], first["cursor"], exact=True, limit=5)
        assert rest["more"] is False
        bodies = [e["data"]["message"]["body"] for e in first["events"] + rest["events"]]
        assert bodies == [f"第{i}条" for i in range(7)]


def test_resume_rereads_events_committed_out_of_order(db, brand):
    """An event numbered before the last one seen but committed after it is not lost."""
    from app.console.events import events_after

    room = "clerk:%d" % brand["clerk1"]
    with db.transaction() as s:
        late = ConsoleEvent(room=room, name="message.created", payload={"n": "late"})
        early = ConsoleEvent(room=room, name="message.created", payload={"n": "seen"})
        s.add_all([late, early])
        s.flush()
        seen_id = max(late.id, early.id)
    with db.Session() as s:
        replayed = [e["data"]["n"] for e in events_after(s, [room], seen_id)["events"]]
    assert "late" in replayed


def test_quick_replies_clerks_keep_their_own_and_see_head_offices(client, auth, db, brand):
    auth.login("hq")
    shared = client.post("/api/v1/quick-replies", json={"text": "感谢您的支持！", "shared": True})
    assert shared.status_code == 201
    auth.logout()
    auth.login("clerk1")
    assert client.post("/api/v1/quick-replies", json={"text": "x", "shared": True}).status_code == 422
    assert client.post("/api/v1/quick-replies", json={"text": "  "}).status_code == 422
    own = client.post("/api/v1/quick-replies", json={"text": "您好，我是您的专属导购"}).get_json()["quick_reply"]
    listed = client.get("/api/v1/quick-replies").get_json()["quick_replies"]
    assert [(r["text"], r["shared"]) for r in listed] == [("感谢您的支持！", True), ("您好，我是您的专属导购", False)]
    assert client.delete(f"/api/v1/quick-replies/{shared.get_json()['quick_reply']['id']}").status_code == 404
    assert client.delete(f"/api/v1/quick-replies/{own['id']}").status_code == 200
    auth.logout()
    auth.login("clerk2")
    assert [r["shared"] for r in client.get("/api/v1/quick-replies").get_json()["quick_replies"]] == [True]


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_uploads_accept_images_by_content_and_serve_them_to_staff_only(client, auth, app, brand):
    auth.login("clerk1")
    resp = client.post("/api/v1/uploads", data={"file": (io.BytesIO(PNG), "photo.png")},
                       content_type="multipart/form-data")
    assert resp.status_code == 201
    url = resp.get_json()["url"]
    got = client.get(url)
    assert got.status_code == 200 and got.data == PNG and got.headers["X-Content-Type-Options"] == "nosniff"
    got.close()
    html = b"<html><script>alert(1)</script></html>"
    resp = client.post("/api/v1/uploads", data={"file": (io.BytesIO(html), "photo.png")},
                       content_type="multipart/form-data")
    assert resp.status_code == 422 and "file" in resp.get_json()["fields"]
    auth.logout()
    assert client.get(url).status_code == 401


def test_uploads_over_the_size_limit_are_refused(app_factory, brand):
    small = app_factory(UPLOAD_MAX_BYTES=1024)
    client = small.test_client()
    resp = client.post("/auth/login", json={"username": "clerk1", "password": "demo"})
    client.environ_base["HTTP_X_CSRF_TOKEN"] = resp.get_json()["csrf_token"]
    resp = client.post("/api/v1/uploads", data={"file": (io.BytesIO(PNG + b"\x00" * 2048), "big.png")},
                       content_type="multipart/form-data")
    assert resp.status_code == 422 and "file" in resp.get_json()["fields"]


def test_state_changing_calls_need_the_csrf_header(client, auth, db, brand):
    conv = customer_writes(db, brand["mine"], "在吗", "m1")
    auth.login("clerk1")
    del client.environ_base["HTTP_X_CSRF_TOKEN"]
    resp = client.post(f"/api/v1/conversations/{conv}/messages", json={"body": "hi", "client_id": "c-000000000009"})
    assert resp.status_code == 403


def test_console_page_is_served_with_versioned_assets_and_a_manifest(client):
    html = client.get("/console/").get_data(as_text=True)
    assert "{{V}}" not in html and "/manifest.webmanifest" in html
    assert "echarts" not in html  # ECharts only on /hq/
    version = client.application.extensions["daogou.web_version"]
    resp = client.get(f"/static/{version}/console/manifest.webmanifest")
    assert resp.status_code == 200 and b'"start_url": "/console/"' in resp.data
    resp.close()


def test_console_first_load_is_gzipped_and_within_150_kb(client):
    """Everything /console/ loads before data (page, scripts, styles, catalogue), compressed."""
    import re

    gz = {"Accept-Encoding": "gzip"}
    page = client.get("/console/", headers=gz)
    total = len(page.data)
    import gzip as gzip_module

    html = gzip_module.decompress(page.data).decode()
    refs = [r for r in re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
            if not r.endswith((".png", ".svg", ".webmanifest"))]
    assert any("socket.io" in r for r in refs) and any(r.endswith("console/app.js") for r in refs)
    for ref in refs + ["/i18n/zh-CN.json"]:
        resp = client.get(ref, headers=gz)
        assert resp.status_code == 200, ref
        assert resp.headers.get("Content-Encoding") == "gzip", ref
        total += len(resp.get_data())
        resp.close()
    assert total <= 150 * 1024, f"first load {total / 1024:.1f} KB gzipped"


def test_sessions_expire_after_their_lifetime(client, auth, brand, monkeypatch):
    import time

    from itsdangerous.timed import TimestampSigner

    auth.login("clerk1")
    assert client.get("/api/v1/conversations").status_code == 200
    lifetime = client.application.permanent_session_lifetime.total_seconds()
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time() + lifetime + 60))
    assert client.get("/api/v1/conversations").status_code == 401
