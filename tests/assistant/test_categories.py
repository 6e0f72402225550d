"""One category vocabulary: thresholds, labels, the demo catalogue and the synthetic log agree."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.demo import catalogue, generate_demo
from assistant import synthetic
from assistant.categories import CATEGORIES, category_label
from assistant.tag_rules import TagRules, TagRulesError, parse_rules
from models import CustomerTag, Tag


def test_every_threshold_key_is_a_category_of_the_vocabulary():
    rules = TagRules()
    assert set(rules.dormant_days_by_category) <= set(CATEGORIES)
    assert set(rules.rfm_by_category) <= set(CATEGORIES)
    assert rules.dormant_days_for("appliances") == 720 and rules.dormant_days_for("snacks") == 60
    assert rules.rfm_for("appliances").active_days == 365


def test_the_demo_catalogue_and_the_synthetic_log_use_the_vocabulary():
    demo = {row[2] for row in catalogue.PRODUCTS}
    assert demo and demo <= set(CATEGORIES)
    assert {row[0] for row in synthetic.CATALOGUE} <= set(CATEGORIES)


def test_categories_read_in_the_clerks_language():
    assert category_label("appliances") == "家电" and category_label("appliances", "en") == "Appliances"
    assert category_label("茶具") == "茶具"  # a brand's own key shows as it is


@pytest.mark.parametrize("doc, field", [
    ({"dormant_days_by_category": {"appliance": 720}}, "dormant_days_by_category.appliance"),
    ({"rfm_by_category": {"snack": {"active_days": 30, "lost_days": 120}}}, "rfm_by_category.snack"),
])
def test_a_threshold_for_an_unknown_category_is_refused_naming_it(doc, field):
    with pytest.raises(TagRulesError) as err:
        parse_rules(doc)
    assert field in err.value.fields and "unknown category" in err.value.fields[field]


def test_a_threshold_may_name_a_category_of_the_brands_own_catalogue():
    rules = parse_rules({"dormant_days_by_category": {"茶具": 400}}, catalogue={"茶具"})
    assert rules.dormant_days_for("茶具") == 400


def test_appliances_in_the_demo_brand_go_dormant_at_720_days(db):
    generate_demo(db, customers=300, seed=11, now=dt.datetime(2026, 11, 22, 6, tzinfo=dt.timezone.utc))
    with db.Session() as s:
        reasons = list(s.scalars(select(CustomerTag.reason).join(Tag, Tag.id == CustomerTag.tag_id)
                                 .where(Tag.name.in_(("stage:new", "stage:repeat", "stage:dormant")),
                                        CustomerTag.reason.contains("家电"))))
    assert reasons, "the demo brand should have customers whose last purchase is an appliance"
    assert all("家电 品类默认 720 天" in r for r in reasons), reasons[:3]
