"""Who may call what: every route of the app × eight callers, read from the app's URL map.

The callers: nobody signed in, the clerk who owns the objects (``a1``), a clerk of the same store
(``a2``), a clerk of another store (``b1``), the first store's manager (``m1``), the other
store's manager (``m2``), head office (``hq``) and an integrator's bearer token. Each probe says
who may pass; everyone else must get 401, 403 or 404 (a 404 hides that the object exists), and
nobody a 5xx. A route the app serves without a probe here fails the suite, so a new route
arrives with its rule.
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from models import CareTaskTarget, Conversation, Role
from models.clock import now as business_now
from tests import factories as f

ANON, A1, A2, B1, M1, M2, HQ, TOKEN = "anon", "a1", "a2", "b1", "m1", "m2", "hq", "token"
CALLERS = (ANON, A1, A2, B1, M1, M2, HQ, TOKEN)
STAFF = frozenset({A1, A2, B1, M1, M2, HQ})
CLERKS = frozenset({A1, A2, B1})
MANAGERS = frozenset({M1, M2})
OWNER = frozenset({A1, M1, HQ})          # the owning clerk, their store's manager, head office
STORE1 = frozenset({A1, A2, M1, HQ})     # anyone of the first store, and head office
NOBODY: frozenset[str] = frozenset()
EVERYONE = frozenset(CALLERS)
DENIED = (401, 403, 404)


@dataclass
class Probe:
    method: str
    path: str                 # with {placeholders} filled from the brand's objects
    allowed: frozenset[str]
    json: dict | None = None
    consumes: bool = False    # the first allowed call uses the object up (a 404/409 after is fine)
    note: str = ""


def probes() -> list[Probe]:
    P = Probe
    return [
        # Pages, files and public ends
        P("GET", "/", EVERYONE), P("GET", "/console/", EVERYONE), P("GET", "/console/sw.js", EVERYONE),
        P("GET", "/hq/", EVERYONE), P("GET", "/healthz", EVERYONE), P("GET", "/i18n/zh-CN.json", EVERYONE),
        P("GET", "/static/{version}/common/core.js", EVERYONE),
        P("GET", "/api/v1/openapi.json", EVERYONE),
        P("GET", "/p/{token_a1}", EVERYONE, note="the customer's own page: the link is the key"),
        P("GET", "/p/{token_a1}/ask", EVERYONE),
        P("GET", "/p/{token_a1}/buy/{sku}", EVERYONE),
        P("GET", "/uploads/{upload}", STAFF),
        P("POST", "/channels/loopback/main", EVERYONE, note="the vendor's signature is the check, tested per channel"),
        P("GET", "/channels/loopback/main", EVERYONE),
        # Signing in and the signed-in person
        P("POST", "/auth/login", EVERYONE, json={"username": "nobody", "password": "wrong"}),
        P("GET", "/api/v1/me", STAFF), P("POST", "/api/v1/me/locale", STAFF, json={"locale": "zh-CN"}),
        P("GET", "/api/v1/me/notifications", STAFF), P("PUT", "/api/v1/me/notifications", STAFF, json={}),
        P("POST", "/api/v1/me/password", STAFF, json={}),
        # The clerk's day
        P("GET", "/api/v1/today", STAFF), P("POST", "/api/v1/today/{customer_a1}/outcome", {A1}, json={"action": "skipped"}),
        P("GET", "/api/v1/followers", STAFF), P("GET", "/api/v1/events", STAFF),
        P("GET", "/api/v1/customers/{customer_a1}", OWNER),
        P("GET", "/api/v1/customers/{customer_a1}/contact-check", OWNER),
        P("POST", "/api/v1/customers/{customer_a1}/tags", OWNER, json={"name": "常客"}),
        P("DELETE", "/api/v1/customers/{customer_a1}/tags", OWNER, json={"name": "常客"}, consumes=True),
        P("POST", "/api/v1/customers/{customer_a1}/tags", OWNER, json={"name": "常客"}),
        P("DELETE", "/api/v1/customers/{customer_a1}/tags/常客", OWNER, consumes=True),
        P("GET", "/api/v1/customers/{customer_a1}/coupons", OWNER | {TOKEN},
          note="the token names the customer by external id, which is also numeric here"),
        P("POST", "/api/v1/customers/{customer_a1}/coupons", {A1, M1}, json={}),
        P("GET", "/api/v1/conversations", STAFF),
        P("POST", "/api/v1/conversations", {A1}, json={"customer_id": "{customer_a1}", "channel": "loopback"}),
        P("GET", "/api/v1/conversations/{conversation_a1}", OWNER),
        P("GET", "/api/v1/conversations/{conversation_a1}/messages", OWNER),
        P("POST", "/api/v1/conversations/{conversation_a1}/messages", {A1}, json={},
          note="only the clerk in the conversation writes in it; others transfer or claim"),
        P("POST", "/api/v1/conversations/{conversation_a1}/transfer", OWNER, json={}),
        P("POST", "/api/v1/conversations/{pooled_store1}/claim", STORE1, consumes=True),
        P("POST", "/api/v1/messages/{message_a1}/cancel", {A1}, consumes=True),
        P("GET", "/api/v1/quick-replies", STAFF), P("POST", "/api/v1/quick-replies", STAFF, json={}),
        P("DELETE", "/api/v1/quick-replies/{reply_a1}", {A1}, consumes=True),
        P("POST", "/api/v1/uploads", STAFF),
        P("GET", "/api/v1/recommendations", STAFF),
        P("POST", "/api/v1/drafts", STAFF, json={}),
        P("POST", "/api/v1/drafts/{draft_a1}/outcome", {A1}, json={"outcome": "sent_as_is"}),
        P("POST", "/api/v1/drafts/batch", STAFF, json={}),
        P("GET", "/api/v1/drafts/batch/{batch_a1}", {A1, HQ}, note="who started it, and head office"),
        P("GET", "/api/v1/offers", STAFF), P("PUT", "/api/v1/offers", {HQ}, json={}),
        P("GET", "/api/v1/channels/kinds", STAFF), P("GET", "/api/v1/segments/fields", STAFF),
        P("GET", "/api/v1/reception/figures", STAFF),
        P("POST", "/api/v1/assistant/ask", CLERKS, json={"question": "这个月还差多少？"},
          note="each clerk asks about their own book"),
        P("POST", "/api/v1/links", STAFF | {TOKEN}, json={}),
        # Care tasks
        P("GET", "/api/v1/tasks", STAFF), P("POST", "/api/v1/tasks", {HQ}, json={}),
        P("GET", "/api/v1/tasks/{task}", STAFF - {B1}, note="a clerk sees a task they have targets in"),
        P("POST", "/api/v1/tasks/{task}/close", {HQ}, consumes=True),
        P("GET", "/api/v1/tasks/{task}/progress", MANAGERS | {HQ}),
        P("POST", "/api/v1/tasks/{task}/targets/{target_a1}/outcome", {A1}, json={"outcome": "offline"}),
        P("POST", "/api/v1/tasks/{task}/targets/{target_a1}/send", {A1}, json={}, consumes=True),
        P("POST", "/api/v1/tasks/{task}/reassign", {M1, HQ}, json={"target_ids": ["{target_a1}"], "clerk_id": "{a2}"}),
        # Commission
        P("GET", "/api/v1/commission", STAFF), P("GET", "/api/v1/commission/statement", STAFF),
        P("GET", "/api/v1/commission/statement.csv", STAFF),
        P("GET", "/api/v1/commission?clerk_id={a1_id}", OWNER),
        P("GET", "/api/v1/commission/statement?clerk_id={a1_id}", OWNER),
        P("GET", "/api/v1/commission/statement.csv?clerk_id={a1_id}", OWNER),
        P("POST", "/api/v1/commission/adjustments", {M1, M2, HQ}, json={}),
        P("GET", "/api/v1/commission/attribution", MANAGERS | {HQ}),
        P("PUT", "/api/v1/commission/attribution", {HQ}, json={}),
        P("GET", "/api/v1/commission/choices", MANAGERS | {HQ}),
        P("GET", "/api/v1/commission/leaderboard", MANAGERS | {HQ}),
        P("GET", "/api/v1/commission/periods", MANAGERS | {HQ}), P("POST", "/api/v1/commission/periods", {HQ}, json={}),
        P("GET", "/api/v1/commission/rules", MANAGERS | {HQ}), P("POST", "/api/v1/commission/rules", {HQ}, json={}),
        P("PUT", "/api/v1/commission/rules/{rule}", {HQ}, json={}),
        P("DELETE", "/api/v1/commission/rules/{rule}", {HQ}, consumes=True),
        # Monthly targets: everyone reads their own scope; managers (their store) and head office set them
        P("GET", "/api/v1/targets", STAFF), P("GET", "/api/v1/targets?period=2026-11", STAFF),
        P("PUT", "/api/v1/targets", MANAGERS | {HQ}, json={}),
        P("PUT", "/api/v1/targets", {M1, HQ}, json={"period": "2026-11", "targets": [{"clerk": A1, "amount": "5000.00"}]},
          note="a target for a1: their store's manager and head office; m2 is refused (403)"),
        # Head office and the store manager
        P("GET", "/api/v1/dashboard", MANAGERS | {HQ}),
        P("GET", "/api/v1/staff", MANAGERS | {HQ}), P("POST", "/api/v1/staff", MANAGERS | {HQ}, json={}),
        P("POST", "/api/v1/staff/{leaver}/deactivate", {M1, HQ}, consumes=True),
        P("POST", "/api/v1/staff/{leaver}/handover", {M1, HQ}, json={"to_clerk_id": "{a2}"}),
        P("GET", "/api/v1/channel-accounts", {HQ}),
        P("GET", "/api/v1/segments", MANAGERS | {HQ}), P("POST", "/api/v1/segments", {HQ}, json={}),
        P("POST", "/api/v1/segments/preview", MANAGERS | {HQ}, json={}),
        P("GET", "/api/v1/campaigns", MANAGERS | {HQ}), P("POST", "/api/v1/campaigns", {HQ}, json={}),
        P("POST", "/api/v1/campaigns/preview", {HQ}, json={}),
        P("GET", "/api/v1/campaigns/{campaign}", MANAGERS | {HQ}),
        P("GET", "/api/v1/campaigns/{campaign}/report", MANAGERS | {HQ}),
        P("GET", "/api/v1/campaigns/{campaign}/report.csv", MANAGERS | {HQ}),
        P("POST", "/api/v1/campaigns/{campaign}/send", {HQ}, consumes=True),
        P("POST", "/api/v1/campaigns/{campaign}/cancel", {HQ}, consumes=True),
        P("GET", "/api/v1/automations", MANAGERS | {HQ}), P("PUT", "/api/v1/automations", {HQ}, json={}),
        P("GET", "/api/v1/settings/contact-policy", MANAGERS | {HQ}),
        P("PUT", "/api/v1/settings/contact-policy", {HQ}, json={}),
        P("GET", "/api/v1/settings/tag-rules", {HQ}), P("PUT", "/api/v1/settings/tag-rules", {HQ}, json={}),
        P("GET", "/api/v1/drafts/policy", {HQ}), P("PUT", "/api/v1/drafts/policy", {HQ}, json={}),
        P("GET", "/api/v1/drafts/stats", {HQ}),
        P("GET", "/api/v1/templates", {HQ}), P("PUT", "/api/v1/templates", {HQ}, json={}),
        P("POST", "/api/v1/templates/preview", {HQ}, json={}),
        P("GET", "/api/v1/model/versions", {HQ}),
        P("GET", "/api/v1/links/products", MANAGERS | {HQ}), P("GET", "/api/v1/links/settings", MANAGERS | {HQ}),
        P("PUT", "/api/v1/links/settings", {HQ}, json={}),
        P("GET", "/api/v1/coupon-form", {HQ}),
        P("GET", "/api/v1/audit", {HQ}),
        # The integrator's API (a bearer token; head office's screens use it signed in)
        *[P("POST", f"/api/v1/{kind}", {HQ, TOKEN}, json={}) for kind in ("customers", "orders", "products", "stores")],
        P("GET", "/api/v1/coupon-templates", {HQ, TOKEN}), P("POST", "/api/v1/coupon-templates", {HQ, TOKEN}, json={}),
        P("POST", "/api/v1/coupons", {HQ, TOKEN}, json={}), P("GET", "/api/v1/coupons/flags", {HQ, TOKEN}),
        P("GET", "/api/v1/coupon-gift-budgets", {HQ, TOKEN}), P("PUT", "/api/v1/coupon-gift-budgets", {HQ, TOKEN}, json={}),
        # Test-only stand-ins (registered only when TESTING; see the last test)
        P("POST", "/testing/inbound", EVERYONE, json={}), P("POST", "/testing/probe", EVERYONE, json={}),
        # Last: it ends the caller's session
        P("POST", "/auth/logout", EVERYONE),
    ]


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _signed_in(app, username: str):
    c = app.test_client()
    resp = c.post("/auth/login", json={"username": username, "password": "demo"})
    assert resp.status_code == 200, resp.get_json()
    c.environ_base["HTTP_X_CSRF_TOKEN"] = resp.get_json()["csrf_token"]
    return c


def _made(resp, *keys: str):
    assert resp.status_code in (200, 201, 202), resp.get_json()
    body = resp.get_json()
    for key in keys:
        assert key in body, body
        body = body[key]
    return body


@pytest.fixture
def brand(app, db, clock) -> dict:
    """Two stores and everything a route can name, made the way their users make them."""
    from app.auth import create_api_token

    clock.travel_to(dt.datetime(2026, 11, 18, 3, 0, tzinfo=dt.timezone.utc))  # 11:00 in Shanghai, a weekday
    ids: dict = {}
    with db.transaction() as s:
        s1, s2 = f.store(s, name="静安店"), f.store(s, name="徐汇店")
        a1 = f.staff(s, store=s1, username=A1)
        a2 = f.staff(s, store=s1, username=A2)
        f.staff(s, store=s2, username=B1)
        f.staff(s, Role.manager, s1, username=M1)
        f.staff(s, Role.manager, s2, username=M2)
        f.staff(s, Role.hq, username=HQ)
        leaver = f.staff(s, store=s1, username="leaver")
        mine = f.reachable_follower(s, a1, name="王女士", home_store_id=s1.id)
        mine.external_id = str(mine.id)  # the integrator's id reads like ours: the token must still be scoped by kind
        f.reachable_follower(s, a2, name="李女士", home_store_id=s1.id)
        walk_in = f.customer(s, name="散客", home_store_id=s1.id)
        product = f.product(s, sku="SK-1", name="面霜", price_fen=26800)
        segment = f.segment(s, {"field": "paid_orders", "op": ">=", "value": 0}, name="全部顾客")
        pooled = Conversation(customer_id=walk_in.id, clerk_id=None, store_id=s1.id)
        s.add(pooled)
        s.flush()
        ids.update(a1_id=a1.id, a2=a2.id, leaver=leaver.id, customer_a1=mine.id, sku=product.sku, pooled_store1=pooled.id,
                   token=create_api_token(s, "matrix"), segment=segment.id)
    a1c, hq = _signed_in(app, A1), _signed_in(app, HQ)
    ids["conversation_a1"] = _made(a1c.post("/api/v1/conversations", json={"customer_id": ids["customer_a1"],
                                                                          "channel": "loopback"}), "conversation", "id")
    ids["message_a1"] = _made(a1c.post(f"/api/v1/conversations/{ids['conversation_a1']}/messages",
                                       json={"body": "王女士您好", "client_id": "matrix-0001"}), "message", "id")
    ids["reply_a1"] = _made(a1c.post("/api/v1/quick-replies", json={"text": "好的，马上为您查"}), "quick_reply", "id")
    ids["draft_a1"] = _made(a1c.post("/api/v1/drafts", json={"customer_id": ids["customer_a1"], "scenario": "birthday",
                                                             "channel": "loopback"}), "draft_id")
    ids["batch_a1"] = _made(a1c.post("/api/v1/drafts/batch", json={"scenario": "生日",
                                                                   "customer_ids": [ids["customer_a1"]]}), "batch_id")
    link = _made(a1c.post("/api/v1/links", json={"customer_id": ids["customer_a1"], "products": ["SK-1"]}))
    ids["token_a1"] = link["token"]
    ids["upload"] = _made(a1c.post("/api/v1/uploads", data={"file": (io.BytesIO(PNG), "photo.png")},
                                   content_type="multipart/form-data"), "url").rsplit("/", 1)[1]
    ids["task"] = _made(hq.post("/api/v1/tasks", json={
        "title": "老客关怀", "segment_id": ids["segment"], "scenario": "节日",
        "template": "{{ customer_name }}您好", "fallback": "mass_send",
        "deadline": (business_now() + dt.timedelta(days=3)).isoformat()}), "id")
    with db.Session() as s:
        ids["target_a1"] = s.scalar(select(CareTaskTarget.id).where(CareTaskTarget.task_id == ids["task"],
                                                                    CareTaskTarget.customer_id == ids["customer_a1"]))
    ids["rule"] = _made(hq.post("/api/v1/commission/rules", json={"name": "每单奖励", "kind": "fixed", "amount": "5.00"}), "id")
    ids["campaign"] = _made(hq.post("/api/v1/campaigns", json={
        "name": "会员日", "segment_id": ids["segment"], "channel": "loopback", "holdout_pct": 10, "unit_cost_fen": 5,
        "content": {"text": "{{ customer_name }}您好"}, "scheduled_at": "2026-11-25T15:00"}), "id")
    ids["version"] = app.extensions["daogou.web_version"]
    return ids


def _callers(app, brand) -> dict:
    clients = {ANON: app.test_client(), TOKEN: app.test_client()}
    clients[TOKEN].environ_base["HTTP_AUTHORIZATION"] = f"Bearer {brand['token']}"
    for name in STAFF:
        clients[name] = _signed_in(app, name)
    return clients


def _call(client, probe: Probe, brand: dict):
    path = probe.path.format(**brand)
    body = _filled(probe.json, brand)
    if probe.method == "POST" and path == "/api/v1/uploads":
        return client.post(path, data={"file": (io.BytesIO(PNG), "x.png")}, content_type="multipart/form-data")
    return client.open(path, method=probe.method, json=body)


def _filled(value, brand):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return brand[value[1:-1]]
    if isinstance(value, dict):
        return {k: _filled(v, brand) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, brand) for v in value]
    return value


def _rule_of(app, probe: Probe) -> str:
    adapter = app.url_map.bind("localhost")
    path = probe.path.split("?")[0].format(**{k: "1" for k in _PLACEHOLDERS}, version="v", sku="S",
                                            token_a1="t", upload="u.png")
    rule, _ = adapter.match(path, method=probe.method, return_rule=True)
    return rule.rule


_PLACEHOLDERS = ("a1_id", "customer_a1", "conversation_a1", "pooled_store1", "message_a1", "reply_a1", "draft_a1",
                 "batch_a1", "task", "target_a1", "a2", "rule", "leaver", "campaign")


def test_every_route_has_a_probe(app):
    served = {(rule.rule, method) for rule in app.url_map.iter_rules()
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    probed = {(_rule_of(app, p), p.method) for p in probes()}
    assert served - probed == set(), "routes without an access rule in this file"


def test_each_caller_reaches_only_what_their_role_and_scope_allow(app, brand):
    clients = _callers(app, brand)
    wrong = []
    for probe in probes():
        # those who may not go first: a consuming call by someone allowed must not hide a leak
        order = sorted(CALLERS, key=lambda c: c in probe.allowed)
        first_allowed = True
        for caller in order:
            resp = _call(clients[caller], probe, brand)
            code = resp.status_code
            resp.close()
            if code >= 500:
                wrong.append(f"{caller:5} {probe.method} {probe.path}: {code}")
            elif caller not in probe.allowed and code not in DENIED:
                wrong.append(f"{caller:5} {probe.method} {probe.path}: {code}, should be refused")
            elif probe.allowed == EVERYONE:
                pass  # open to all: a 401 here is the answer to a wrong password, not a refusal
            elif caller in probe.allowed and code in (401, 403) or (
                    caller in probe.allowed and code == 404 and not (probe.consumes and not first_allowed)
                    and not probe.path.startswith(("/p/", "/channels/"))):
                wrong.append(f"{caller:5} {probe.method} {probe.path}: {code}, should pass")
            if caller in probe.allowed:
                first_allowed = False
    assert wrong == [], "\n".join(wrong)


def test_the_test_stand_ins_are_not_served_outside_tests(app_factory):
    served = {rule.rule for rule in app_factory(TESTING=False).url_map.iter_rules()}
    assert not {rule for rule in served if rule.startswith("/testing/")}


# Socket events and where their rule is proven (tests/web/test_socketio.py, a real server):
SOCKET_EVENTS = {
    ("/console", "connect"): "signed-in staff only, from the console's own origin; joins only the rooms of "
                             "the caller's role and scope (anonymous, foreign-origin and deactivated tests)",
    ("/console", "resume"): "replays only the caller's rooms; a bad cursor is refused (resume tests)",
}


def test_every_socket_event_has_a_rule(app):
    from app import realtime

    served = {(ns, name) for ns, handlers in realtime.socketio.server.handlers.items() for name in handlers}
    assert served == set(SOCKET_EVENTS), "a socket event without an access rule here and its test"
