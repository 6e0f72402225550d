"""Drafts may mention a coupon only when the customer holds one, and only its amounts."""
from __future__ import annotations

import pytest

from app.drafts.settings import drafting_settings, recommender, with_held_coupons
from assistant import guardrails
from assistant.drafting import DraftRequest, build_contexts
from models import utcnow
from tests.assistant.fake_openai import FakeChatServer


def _contexts(app, db, customer_ids):
    with app.app_context(), db.Session() as s:
        now = utcnow()
        contexts = build_contexts(s, [DraftRequest(cid, "birthday", "wecom") for cid in customer_ids],
                                  drafting_settings(s), recommender(s, now=now), now)
        with_held_coupons(s, contexts, now)
    return contexts


def test_the_held_coupon_is_allowed_and_nothing_else(app, db, api, shop):
    api.code_for("C1")
    c1, c2 = shop["customers"]["C1"], shop["customers"]["C2"]
    contexts = _contexts(app, db, [c1, c2])

    def codes(cid, text):
        return {v.code for v in guardrails.check(text, contexts[cid].rules, contexts[cid].allowances())}

    assert [o.label for o in contexts[c1].offers] == ["满200减20券"]
    assert codes(c1, "王女士，生日快乐！送您一张满200减20券，本月可用。") == set()
    assert codes(c1, "王女士，生日快乐！送您一张满300减50券。") >= {"discount"}
    assert codes(c1, "王女士，生日快乐！下单立减50元。") >= {"price"}
    assert codes(c2, "李先生，生日快乐！送您一张满200减20券。") >= {"coupon", "discount"}


@pytest.fixture
def llm():
    server = FakeChatServer().start()
    yield server
    server.stop()


def test_a_model_draft_quoting_a_coupon_not_held_falls_back_to_the_template(app_factory, db, api, shop, llm):
    api.code_for("C1")
    app = app_factory(OPENAI_BASE_URL=llm.base_url, OPENAI_API_KEY="test-key", OPENAI_MODEL="fake-model")
    client = app.test_client()
    token = client.post("/auth/login", json={"username": "clerk_li", "password": "demo"}).get_json()["csrf_token"]
    client.environ_base["HTTP_X_CSRF_TOKEN"] = token
    c1 = shop["customers"]["C1"]
    llm.answer("王女士，生日快乐！送您满200减20券，生日月可用。")
    body = client.post("/api/v1/drafts", json={"customer_id": c1, "scenario": "birthday"}).get_json()
    assert body["source"] == "llm" and "满200减20券" in body["text"]
    llm.answer("王女士，生日快乐！给您一张满300减50的券。")
    llm.answer("王女士，生日快乐！给您一张无门槛50元券。")
    body = client.post("/api/v1/drafts", json={"customer_id": c1, "scenario": "birthday"}).get_json()
    assert body["source"] == "template" and body["fallback_reason"].startswith("guardrail:")
    assert "50" not in body["text"]
