"""The audit trail head office reads: each sign-in, export, handover and rule change leaves one
entry with who, what and when, written with the action — and never a password."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from models import AuditEntry, Role
from tests import factories as f


@pytest.fixture
def shop(db):
    with db.transaction() as s:
        s1 = f.store(s, name="静安店")
        leaving = f.staff(s, store=s1, username="leaving", display_name="小走")
        taking = f.staff(s, store=s1, username="taking", display_name="小接")
        f.staff(s, Role.manager, s1, username="m1", display_name="赵店长")
        f.staff(s, Role.hq, username="hq", display_name="总部运营")
        for i in range(3):
            f.follow(s, f.customer(s, name=f"顾客{i}"), leaving)
    return {"store": s1.id, "leaving": leaving.id, "taking": taking.id}


def signed_in(app, username, password="demo"):
    c = app.test_client()
    resp = c.post("/auth/login", json={"username": username, "password": password})
    assert resp.status_code == 200, resp.get_json()
    c.environ_base["HTTP_X_CSRF_TOKEN"] = resp.get_json()["csrf_token"]
    return c


def test_sign_ins_handovers_exports_and_rule_changes_show_in_head_offices_trail(app, db, shop):
    anon = app.test_client()
    assert anon.post("/auth/login", json={"username": "m1", "password": "wrong-guess-1"}).status_code == 401
    manager = signed_in(app, "m1")
    moved = manager.post(f"/api/v1/staff/{shop['leaving']}/handover", json={"to_clerk_id": shop["taking"]})
    assert moved.status_code == 200 and moved.get_json()["moved"] == 3
    hq = signed_in(app, "hq")
    added = hq.post("/api/v1/staff", json={"username": "newbie", "display_name": "新人", "password": "Start-2026-x",
                                          "role": "clerk", "store_id": shop["store"]})
    assert added.status_code == 201, added.get_json()
    rule = hq.post("/api/v1/commission/rules", json={"name": "每单奖励", "kind": "fixed", "amount": "5.00"}).get_json()
    assert hq.put(f"/api/v1/commission/rules/{rule['id']}",
                  json={"name": "每单奖励", "kind": "fixed", "amount": "8.00"}).status_code == 201
    export = manager.get("/api/v1/commission/statement.csv")
    assert export.status_code == 200
    assert manager.post("/auth/logout").status_code == 200

    trail = hq.get("/api/v1/audit").get_json()
    seen = [(e["action"], e["actor"]) for e in reversed(trail["entries"])]
    assert seen == [
        ("login_failed", "—"), ("login", "赵店长 (m1)"), ("followers_handed_over", "赵店长 (m1)"),
        ("login", "总部运营 (hq)"), ("staff_added", "总部运营 (hq)"), ("rule_created", "总部运营 (hq)"),
        ("rule_replaced", "总部运营 (hq)"), ("export", "赵店长 (m1)"), ("logout", "赵店长 (m1)")]
    by_action = {e["action"]: e for e in trail["entries"]}
    assert by_action["login_failed"]["detail"] == {"username": "m1"}
    assert by_action["followers_handed_over"]["detail"] == {"to": "小接 (taking)", "moved": 3}
    assert by_action["followers_handed_over"]["store_id"] == shop["store"]
    assert by_action["staff_added"]["detail"] == {"username": "newbie", "role": "clerk"}
    assert by_action["export"]["detail"]["report"] == "statement"
    assert by_action["export"]["action_label"] == "导出数据"
    assert by_action["login"]["address"] == "127.0.0.1"
    with db.Session() as s:
        stored = json.dumps([e.detail for e in s.scalars(select(AuditEntry))], ensure_ascii=False)
    assert "wrong-guess-1" not in stored and "Start-2026-x" not in stored and "demo" not in stored


def test_only_head_office_reads_the_trail_and_a_bad_filter_is_named(app, shop):
    assert app.test_client().get("/api/v1/audit").status_code == 401
    assert signed_in(app, "m1").get("/api/v1/audit").status_code == 403
    hq = signed_in(app, "hq")
    bad = hq.get("/api/v1/audit?action=drop_tables")
    assert bad.status_code == 422 and "action" in bad.get_json()["fields"]
    assert hq.get("/api/v1/audit?before_id=abc").status_code in (400, 422)


def test_the_trail_pages_back_through_older_entries(app, db, shop):
    hq = signed_in(app, "hq")
    for _ in range(4):
        signed_in(app, "m1")
    first = hq.get("/api/v1/audit?action=login&limit=3").get_json()
    assert len(first["entries"]) == 3 and first["more"] is True
    rest = hq.get(f"/api/v1/audit?action=login&limit=3&before_id={first['entries'][-1]['id']}").get_json()
    assert len(rest["entries"]) == 2 and rest["more"] is False  # 5 sign-ins: hq's and four of m1's
