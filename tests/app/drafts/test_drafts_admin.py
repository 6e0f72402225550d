"""Head office's side: templates and offers editing, the policy, background batches, the model path."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models.drafting import Draft, DraftBatch
from tests.assistant.fake_openai import FakeChatServer


def test_templates_are_for_head_office_and_validated(client, auth, brand):
    auth.login("lin")
    assert client.get("/api/v1/templates").status_code == 403
    auth.logout()
    auth.login("hq")
    doc = client.get("/api/v1/templates").get_json()
    assert doc["scenarios"]["birthday"]["label"] == "生日" and not doc["scenarios"]["birthday"]["customised"]
    bad = client.put("/api/v1/templates", json={"scenarios": {"birthday": {"variants": [
        {"id": "birthday.a", "text": "{{ customer.nmae }}生日快乐"}]}}})
    assert bad.status_code == 422
    assert "scenarios.birthday.variants[0].text" in bad.get_json()["fields"]


def test_edited_templates_are_used_for_drafts(client, auth, brand):
    auth.login("hq")
    resp = client.put("/api/v1/templates", json={"scenarios": {"birthday": {"variants": [
        {"id": "birthday.hq1", "text": "{{ customer.salutation }}，生日快乐！——{{ clerk.name }}"}]}}})
    assert resp.status_code == 200 and resp.get_json() == {"customised": ["birthday"]}
    assert client.get("/api/v1/templates").get_json()["scenarios"]["birthday"]["customised"]
    auth.logout()
    auth.login("lin")
    body = client.post("/api/v1/drafts", json={"customer_id": brand.wang, "scenario": "birthday"}).get_json()
    assert (body["template_variant"], body["text"]) == ("birthday.hq1", "王女士，生日快乐！——小林")


def test_offers_are_validated_and_reach_the_draft(client, auth, brand):
    auth.login("hq")
    bad = client.put("/api/v1/offers", json={"offers": [{"code": "", "label": "满300减50券", "amount": "5x"}]})
    assert bad.status_code == 422
    assert set(bad.get_json()["fields"]) == {"offers[0].code", "offers[0].amount"}
    good = client.put("/api/v1/offers", json={"offers": [
        {"code": "BDAY", "label": "生日专享满300减50券", "kind": "coupon", "amount": "50", "threshold": "300",
         "scenarios": ["birthday"]},
        {"code": "VIP9", "label": "生日会员9折", "kind": "discount", "scenarios": ["birthday"]}]})
    assert good.status_code == 200 and good.get_json()["offers"][0]["amount"] == "50.00"
    auth.logout()
    auth.login("lin")
    texts = [client.post("/api/v1/drafts", json={"customer_id": brand.wang, "scenario": "birthday"}).get_json()["text"]
             for _ in range(3)]
    assert all("生日会员9折" in t for t in texts)
    # A coupon only reaches a draft when the customer holds one (tests/app/coupons/test_drafting.py).
    assert not any("券" in t for t in texts)
    replenish = client.post("/api/v1/drafts", json={"customer_id": brand.wang, "scenario": "replenish"}).get_json()
    assert "9折" not in replenish["text"]  # the offer is for birthdays only


def test_policy_banned_words_and_signature(client, auth, brand):
    auth.login("hq")
    assert client.put("/api/v1/drafts/policy", json={"banned_words": "x"}).status_code == 422
    resp = client.put("/api/v1/drafts/policy", json={"banned_words": ["绝对"], "sms_signature": "美肤演示", "sms_segments": 2})
    assert resp.status_code == 200 and resp.get_json()["sms_signature"] == "美肤演示"
    body = client.post("/api/v1/drafts", json={"customer_id": brand.wang, "scenario": "winback", "channel": "sms"}).get_json()
    assert body["text"].startswith("【美肤演示】")


def test_batch_drafts_a_tasks_targets_in_the_background(client, auth, brand, db):
    auth.login("lin")
    resp = client.post("/api/v1/drafts/batch", json={"task_id": brand.task})
    assert resp.status_code == 202
    batch_id = resp.get_json()["batch_id"]
    progress = client.get(f"/api/v1/drafts/batch/{batch_id}?include=drafts").get_json()
    # JOBS_MODE=sync in tests: the job ran after the commit; the clerk's scope holds one target
    assert (progress["status"], progress["total"], progress["done"], progress["progress"]) == ("done", 1, 1, 1.0)
    assert [d["customer_id"] for d in progress["drafts"]] == [brand.wang]
    auth.logout()
    auth.login("hq")
    hq_batch = client.post("/api/v1/drafts/batch", json={"scenario": "生日", "customer_ids": [brand.wang, brand.li]}).get_json()
    assert hq_batch["total"] == 2
    assert client.get(f"/api/v1/drafts/batch/{hq_batch['batch_id']}").get_json()["done"] == 2
    with db.Session() as s:
        rows = s.scalars(select(Draft).where(Draft.batch_id == hq_batch["batch_id"])).all()
        assert {r.customer_id: r.clerk_id for r in rows} == {brand.wang: brand.clerk, brand.li: brand.other_clerk}
        assert all(r.source.value == "template" for r in rows)
        assert s.get(DraftBatch, hq_batch["batch_id"]).finished_at is not None
    bad = client.post("/api/v1/drafts/batch", json={"scenario": "抽奖", "customer_ids": []}).get_json()
    assert set(bad["fields"]) == {"scenario", "customer_ids"}


def test_batch_progress_is_private_to_its_requester(client, auth, brand):
    auth.login("lin")
    batch_id = client.post("/api/v1/drafts/batch", json={"task_id": brand.task}).get_json()["batch_id"]
    auth.logout()
    auth.login("zhou")
    assert client.get(f"/api/v1/drafts/batch/{batch_id}").status_code == 404


@pytest.fixture
def llm():
    server = FakeChatServer().start()
    yield server
    server.stop()


def test_model_draft_through_the_configured_endpoint(app_factory, brand, llm):
    app = app_factory(OPENAI_BASE_URL=llm.base_url, OPENAI_API_KEY="test-key", OPENAI_MODEL="fake-model")
    client = app.test_client()
    token = client.post("/auth/login", json={"username": "lin", "password": "demo"}).get_json()["csrf_token"]
    client.environ_base["HTTP_X_CSRF_TOKEN"] = token
    llm.answer("王女士，面膜差不多用完啦，要不要帮您留两盒？", ["MASK-10"], "面膜按周期快用完")
    body = client.post("/api/v1/drafts", json={"customer_id": brand.wang, "scenario": "replenish"}).get_json()
    assert (body["source"], body["reason"], body["fallback_reason"]) == ("llm", "面膜按周期快用完", None)
    assert [p["sku"] for p in body["products"]] == ["MASK-10"]
    # another customer's name (looked up in the database) is refused twice → the template
    llm.answer("王女士，李建国也在用这款面膜。", ["MASK-10"])
    llm.answer("王女士，和李建国一样囤两盒吧。", ["MASK-10"])
    body = client.post("/api/v1/drafts", json={"customer_id": brand.wang, "scenario": "replenish"}).get_json()
    assert (body["source"], body["fallback_reason"]) == ("template", "guardrail:other_customer")
    assert "李建国" not in body["text"]
    llm.status(429)
    body = client.post("/api/v1/drafts", json={"customer_id": brand.wang, "scenario": "replenish"}).get_json()
    assert (body["source"], body["fallback_reason"]) == ("template", "rate_limited")
    prompt = llm.requests[0]["messages"][1]["content"]
    assert "王女士" in prompt and "李建国" not in prompt and "13900000008" not in prompt


def test_template_preview_renders_the_sample_customer(client, auth, brand):
    auth.login("hq")
    resp = client.post("/api/v1/templates/preview",
                       json={"text": "{{ customer.salutation }}您好{% if offer %}，可用{{ offer.label }}{% endif %}"})
    assert resp.get_json() == {"full": "王女士您好，可用满300减50券", "bare": "王女士您好"}
    bad = client.post("/api/v1/templates/preview", json={"text": "{{ customer.__class__.__base__ }}"})
    assert bad.status_code == 422 and bad.get_json()["fields"]["text"].startswith("does not render")
    auth.logout()
    auth.login("lin")
    assert client.post("/api/v1/templates/preview", json={"text": "你好"}).status_code == 403
