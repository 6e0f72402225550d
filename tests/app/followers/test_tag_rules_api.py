"""Head office changes the tag thresholds; nonsense is refused; a change retags everyone."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from models import CustomerTag, Role, Tag
from tests import factories as f

UTC = dt.timezone.utc


@pytest.fixture
def brand(db):
    with db.transaction() as s:
        f.staff(s, username="hq", role=Role.hq)
        f.staff(s, username="c1")
        c = f.customer(s)
        f.order(s, c, [], status="created", amount_fen=8000)
    return c.id


def test_only_head_office_reads_and_changes_rules(client, auth, brand):
    auth.login("c1")
    assert client.get("/api/v1/settings/tag-rules").status_code == 403
    assert client.put("/api/v1/settings/tag-rules", json={"engaged_days": 3}).status_code == 403
    auth.login("hq")
    assert client.get("/api/v1/settings/tag-rules").get_json()["unpaid_min_yuan"] == 100


@pytest.mark.parametrize("doc, field", [({"engaged_days": -3}, "engaged_days"),
                                        ({"rfm_by_category": {"snacks": {"active_days": 30, "lost_days": 10}}},
                                         "rfm_by_category.snacks"),
                                        ({"unpaid_min_yuan": "lots"}, "unpaid_min_yuan")])
def test_nonsense_is_refused_naming_the_field(client, auth, brand, doc, field):
    auth.login("hq")
    resp = client.put("/api/v1/settings/tag-rules", json=doc)
    assert resp.status_code == 422
    assert field in resp.get_json()["fields"], resp.get_json()
    assert field in resp.get_json()["error"]


def test_changing_a_threshold_retags_and_keeps_the_others(client, auth, brand, db):
    def unpaid_tagged():
        with db.transaction() as s:
            return s.scalar(select(CustomerTag.customer_id).join(Tag).where(Tag.name == "unpaid")) == brand

    auth.login("hq")
    resp = client.put("/api/v1/settings/tag-rules", json={"unpaid_min_yuan": 50})
    assert resp.status_code == 200 and resp.get_json()["retag"] == "queued"
    assert unpaid_tagged()  # the retag job ran (sync jobs in tests): ¥80 ≥ ¥50
    assert client.get("/api/v1/settings/tag-rules").get_json()["engaged_days"] == 14
    client.put("/api/v1/settings/tag-rules", json={"unpaid_min_yuan": 100})
    assert not unpaid_tagged()
