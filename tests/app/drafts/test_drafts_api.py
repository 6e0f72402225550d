"""POST /api/v1/drafts and what follows: scoping, rotation, outcomes, replies, purchases, stats."""
from __future__ import annotations

from app import hooks
from app.messaging.actions import receive_message, send_message
from models import Customer, Product, utcnow
from models.drafting import Draft
from tests import factories


def draft(client, **body):
    return client.post("/api/v1/drafts", json={"channel": "wecom", **body})


def test_clerk_gets_a_template_draft_for_a_follower(client, auth, brand, db):
    auth.login("lin")
    resp = draft(client, customer_id=brand.wang, scenario="补货")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["source"] == "template" and body["scenario"] == "replenish"
    assert body["text"].startswith("王女士") and "小林" in body["text"]
    assert body["template_variant"].startswith("replenish.")
    first = body["products"][0]
    assert first["sku"] == "MASK-10" and first["price"] == "129.00"
    assert first["image"] == "https://img.example/mask.jpg" and first["link"] == "https://shop.example/p/MASK-10"
    assert "补货" in body["reason"]
    with db.Session() as s:
        row = s.get(Draft, body["draft_id"])
        assert (row.clerk_id, row.requested_by, row.text, row.products[0]) == (brand.clerk, brand.clerk, body["text"], "MASK-10")


def test_clerk_cannot_draft_for_another_clerks_customer(client, auth, brand):
    auth.login("lin")
    assert draft(client, customer_id=brand.li, scenario="birthday").status_code == 404


def test_bad_request_names_each_field(client, auth, brand):
    auth.login("lin")
    resp = draft(client, customer_id="x", scenario="抽奖", channel="fax", tone="angry")
    assert resp.status_code == 422
    assert set(resp.get_json()["fields"]) == {"customer_id", "scenario", "channel", "tone"}
    assert draft(client, customer_id=brand.wang).get_json()["fields"] == {"scenario": "scenario or task_id is required"}


def test_two_drafts_for_one_customer_are_different_variants(client, auth, brand):
    auth.login("lin")
    first = draft(client, customer_id=brand.wang, scenario="birthday").get_json()
    second = draft(client, customer_id=brand.wang, scenario="birthday").get_json()
    assert first["template_variant"] != second["template_variant"]
    assert first["text"] != second["text"]


def test_sms_draft_has_signature_and_opt_out(client, auth, brand):
    auth.login("lin")
    body = draft(client, customer_id=brand.wang, scenario="winback", channel="sms").get_json()
    assert body["text"].startswith("【") and body["text"].endswith("回T退订")


def test_task_draft_features_the_tasks_products_and_checks_targets(client, auth, brand):
    auth.login("lin")
    body = draft(client, customer_id=brand.wang, task_id=brand.task).get_json()
    assert body["scenario"] == "task" and body["task_id"] == brand.task
    assert [p["sku"] for p in body["products"]] == ["SERUM-30"]
    assert body["reason"] == "关怀任务：双十二老客关怀"
    assert draft(client, customer_id=brand.wang, task_id=brand.task + 99).status_code == 404


def test_outcome_is_recorded_once(client, auth, brand):
    auth.login("lin")
    body = draft(client, customer_id=brand.wang, scenario="aftercare").get_json()
    url = f"/api/v1/drafts/{body['draft_id']}/outcome"
    assert client.post(url, json={"outcome": "maybe"}).get_json()["fields"]["outcome"].startswith("one of")
    assert client.post(url, json={"outcome": "sent"}).status_code == 422  # needs the text
    resp = client.post(url, json={"outcome": "sent", "text": body["text"] + " 😊"})
    assert resp.status_code == 200 and resp.get_json()["outcome"] == "edited"
    assert client.post(url, json={"outcome": "edited"}).status_code == 200  # same answer again: fine
    assert client.post(url, json={"outcome": "discarded"}).status_code == 409
    auth.logout()
    auth.login("zhou")
    assert client.post(url, json={"outcome": "discarded"}).status_code == 404


def test_sent_draft_links_reply_and_purchase(app, client, auth, brand, db):
    auth.login("lin")
    body = draft(client, customer_id=brand.wang, scenario="replenish").get_json()
    with app.app_context():
        with db.transaction() as s:
            message, _ = send_message(s, clerk_id=brand.clerk, customer_id=brand.wang, body=body["text"],
                                      channel="wecom")
        with db.transaction() as s:
            receive_message(s, channel="wecom", external_id="in-1", customer_id=brand.wang, body="好的，帮我留两盒")
        with db.transaction() as s:
            customer = s.get(Customer, brand.wang)
            mask = s.get(Product, brand.mask)
            order = factories.order(s, customer, [(mask, 2)], paid_at=utcnow())
            hooks.fire(s, hooks.ORDER_RECORDED, order_ids=[order.id], customer_ids=[brand.wang])
            order_id = order.id
    with db.Session() as s:
        row = s.get(Draft, body["draft_id"])
        assert row.outcome.value == "sent_as_is" and row.message_id == message.id
        assert row.replied_at is not None
        assert row.bought_order_id == order_id


def test_message_unlike_the_draft_is_not_counted_as_its_use(app, client, auth, brand, db):
    auth.login("lin")
    body = draft(client, customer_id=brand.wang, scenario="festival", occasion="冬至").get_json()
    assert "冬至" in body["text"]
    with app.app_context(), db.transaction() as s:
        send_message(s, clerk_id=brand.clerk, customer_id=brand.wang, body="在吗？", channel="wecom")
    with db.Session() as s:
        assert s.get(Draft, body["draft_id"]).outcome is None


def test_stats_show_rates_per_variant_for_head_office(client, auth, brand, db):
    auth.login("lin")
    ids = [draft(client, customer_id=brand.wang, scenario="birthday").get_json()["draft_id"] for _ in range(3)]
    client.post(f"/api/v1/drafts/{ids[0]}/outcome", json={"outcome": "sent_as_is"})
    client.post(f"/api/v1/drafts/{ids[1]}/outcome", json={"outcome": "discarded"})
    with db.transaction() as s:
        s.get(Draft, ids[0]).replied_at = utcnow()
    assert client.get("/api/v1/drafts/stats").status_code == 403
    auth.logout()
    auth.login("hq")
    stats = client.get("/api/v1/drafts/stats?days=7&scenario=生日").get_json()
    rows = {r["variant"]: r for r in stats["rows"]}
    assert len(rows) == 3 and all(r["drafted"] == 1 for r in rows.values())
    sent = next(r for r in rows.values() if r["sent_as_is"])
    assert sent["sent_as_is_rate"] == 1.0 and sent["reply_rate"] == 1.0 and sent["buy_rate"] == 0.0
    assert stats["by_source"]["template"]["drafted"] == 3
    assert stats["by_source"]["template"]["discard_rate"] == round(1 / 3, 4)
    assert client.get("/api/v1/drafts/stats?days=0").status_code == 422


def test_recommendations_exclude_out_of_stock(client, auth, brand):
    auth.login("zhou")
    body = client.get(f"/api/v1/recommendations?customer_id={brand.li}").get_json()
    skus = [p["sku"] for p in body["products"]]
    assert "CREAM-OOS" not in skus
    assert client.get(f"/api/v1/recommendations?customer_id={brand.wang}").status_code == 404
    assert client.get("/api/v1/recommendations?customer_id=x").status_code == 422


def test_head_office_drafts_for_a_customer_with_no_history(client, auth, brand, db):
    with db.transaction() as s:
        newcomer = factories.customer(s, name="Amy").id
    auth.login("hq")
    resp = draft(client, customer_id=newcomer, scenario="新品", channel="sms")
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["text"].startswith("【") and "Amy" in body["text"] and body["text"].endswith("回T退订")
    with db.Session() as s:
        row = s.get(Draft, body["draft_id"])
        assert (row.clerk_id, row.requested_by) == (None, brand.hq)  # nobody owns this customer yet
