"""The connector registry is the only source of channel facts: a channel registered in a test
shows up in every place the app names channels, and is gone from all of them once removed."""
from __future__ import annotations

import datetime as dt

import pytest

from app.contact.service import load_config
from app.db import get_db
from app.ingest import validate
from connectors.base import REGISTRY, Capabilities, Connector, register
from connectors.registry import (address_fields, channel_classes, channel_kinds, channel_label, contact_priority,
                                 load_all, preferred_channel)
from models import Role, Segment
from tests import factories as f


class PigeonConnector(Connector):
    """A channel no module of the app has heard of (registered by the fixture only)."""

    kind = "pigeon"
    label, label_en = "信鸽", "Carrier pigeon"
    contact_priority = 9
    capabilities = Capabilities(max_text_chars=140, reply_window=dt.timedelta(hours=24))
    required_settings = ("loft",)


def _hq_and_segment(database, channel: str = "wecom") -> int:
    """Head office's login and a segment of one customer reachable on ``channel``."""
    with database.transaction() as s:
        f.staff(s, username="hq", role=Role.hq)
        f.identity(s, f.customer(s), channel, "c-1")
        segment = Segment(name="全部", filter={"field": "paid_orders", "op": ">=", "value": 0})
        s.add(segment)
        s.flush()
        return segment.id


@pytest.fixture
def pigeon():
    load_all()
    register(PigeonConnector)
    yield PigeonConnector
    REGISTRY.pop(PigeonConnector.kind, None)


def test_the_registry_lists_the_channels_in_one_order_with_their_facts():
    assert channel_kinds() == ("wechat-oa", "wecom", "wecom-kf", "sms", "email", "bridge", "loopback")
    assert channel_kinds(callback=True) == ("wechat-oa", "wecom", "wecom-kf", "sms", "email", "bridge")
    assert "wecom-kf" not in channel_kinds(mass_send=True)  # 微信客服 only answers
    assert contact_priority() == ("wecom", "wechat-oa", "sms", "email") and preferred_channel() == "wecom"
    assert address_fields() == {"sms": "phone", "email": "email"}
    assert channel_label("wechat-oa") == "微信公众号" and channel_label("wechat-oa", "en") == "WeChat Official Account"
    for cls in channel_classes():
        assert cls.label and cls.label_en and len(cls.kind) <= 16  # the channel columns are String(16)


def test_a_registered_channel_appears_everywhere_and_leaves_with_its_removal(pigeon, app_factory):
    app = app_factory()  # built after the registration, as the app is at start-up
    segment_id = _hq_and_segment(get_db(app), "pigeon")
    client = app.test_client()
    login = client.post("/auth/login", json={"username": "hq", "password": "demo"})
    client.environ_base["HTTP_X_CSRF_TOKEN"] = login.get_json()["csrf_token"]

    kinds = {k["kind"]: k for k in client.get("/api/v1/channels/kinds").get_json()["kinds"]}
    assert kinds["pigeon"]["label"] == "信鸽" and kinds["pigeon"]["capabilities"]["max_text_chars"] == 140
    assert kinds["pigeon"]["capabilities"]["reply_window_hours"] == 24 and not kinds["pigeon"]["open"]
    assert kinds["loopback"]["open"]  # needs no account

    fields = {x["field"]: x for x in client.get("/api/v1/segments/fields").get_json()["fields"]}
    assert {"value": "pigeon", "label": "信鸽", "label_en": "Carrier pigeon"} in fields["channel"]["choices"]
    reachable = {"filter": {"field": "channel", "op": "reachable", "value": "pigeon"}}
    assert client.post("/api/v1/segments/preview", json=reachable).status_code == 200

    document = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert "pigeon" in document["Identity"]["properties"]["channel"]["enum"]
    assert "pigeon" in document["Customer"]["properties"]["channel"]["enum"]

    assert client.post("/channels/pigeon/loft-1").get_json()["error"] == "unknown channel account"
    campaign = {"name": "信鸽传书", "segment_id": segment_id, "channel": "pigeon", "content": {"text": "您好"}}
    created = client.post("/api/v1/campaigns", json=campaign)
    assert created.status_code == 201, created.get_json()
    with get_db(app).Session() as s:
        assert load_config(s).channel_priority == ("wecom", "wechat-oa", "sms", "email", "pigeon")
    assert validate.channel("pigeon") == "pigeon" and validate.follow_channel("pigeon") == "pigeon"

    REGISTRY.pop("pigeon")
    assert "pigeon" not in channel_kinds()
    assert client.post("/channels/pigeon/loft-1").get_json()["error"] == "unknown channel kind"
    assert client.post("/api/v1/segments/preview", json=reachable).status_code == 422
    refused = client.post("/api/v1/campaigns", json={**campaign, "name": "再传"})
    assert refused.status_code == 422 and "channel" in refused.get_json()["fields"]
    assert "pigeon" not in {k["kind"] for k in client.get("/api/v1/channels/kinds").get_json()["kinds"]}
    with app.app_context(), pytest.raises(validate.FieldError):
        validate.channel("pigeon")


def test_a_channel_without_mass_sends_is_refused_for_campaigns(client, auth, db):
    segment_id = _hq_and_segment(db)
    auth.login("hq")
    resp = client.post("/api/v1/campaigns", json={"name": "客服群发", "segment_id": segment_id, "channel": "wecom-kf",
                                                  "content": {"text": "您好"}})
    assert resp.status_code == 422
    assert resp.get_json()["fields"]["channel"] == "请选择一个可以群发的渠道"  # a sentence for the operator
    assert "wecom-kf" not in channel_kinds(mass_send=True)
