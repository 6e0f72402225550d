"""The thresholds behind every automatic tag, validated, stored as ``Setting("tag_rules")``.

Head office changes them through the settings API; nonsense (negative days, a lost threshold
below the active one, a percentage over 100) is refused with the offending field named.
The defaults follow the seeds: seed 000 (product cycle, 催付), seed 001 (campus words, ¥100
unpaid), seed 003 (RFM thresholds differ per category — appliances are bought rarely, snacks
often).
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.orm import Session

from assistant.categories import default_dormant_days, default_rfm_days, known_categories

SETTING_KEY = "tag_rules"
STATS_KEY = "tag_stats"  # figures the full retag measures (the high-value spend cut-off)

CAMPUS_WORDS = ("学校", "大学", "学院", "中学", "初中", "高中", "小学")


class RfmBand(BaseModel):
    """Recency cut-offs of one category: bought within ``active_days`` → active, after
    ``lost_days`` → lost, in between → sleeping."""

    model_config = ConfigDict(extra="forbid")
    active_days: int = Field(ge=1, le=3650)
    lost_days: int = Field(ge=1, le=3650)

    @model_validator(mode="after")
    def _ordered(self) -> RfmBand:
        if self.lost_days <= self.active_days:
            raise ValueError("lost_days must be greater than active_days")
        return self


class TagRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Lifecycle: dormancy when no repurchase within usage_days × quantity of the last purchase;
    # products without a cycle use their category's default, else ``dormant_default_days``.
    dormant_default_days: int = Field(180, ge=1, le=3650)
    dormant_days_by_category: dict[str, int] = Field(default_factory=default_dormant_days)
    # 粉丝: a repeat customer with at least this many paid orders who replied recently.
    fan_min_paid_orders: int = Field(3, ge=2, le=1000)
    fan_replied_within_days: int = Field(30, ge=1, le=365)

    rfm_default: RfmBand = Field(default_factory=lambda: RfmBand(active_days=90, lost_days=365))
    rfm_by_category: dict[str, RfmBand] = Field(default_factory=lambda: {
        key: RfmBand(active_days=active, lost_days=lost) for key, (active, lost) in default_rfm_days().items()})

    replenish_within_days: int = Field(7, ge=0, le=365)
    unpaid_min_yuan: int = Field(100, ge=0, le=10_000_000)
    campus_words: list[str] = Field(default_factory=lambda: list(CAMPUS_WORDS), min_length=1, max_length=50)
    birthday_within_days: int = Field(30, ge=0, le=366)
    high_value_top_percent: float = Field(10, gt=0, le=100)
    # Average paid price of one item, yuan: below ``low`` → 平价, at or above ``high`` → 高端.
    price_band_low_yuan: int = Field(100, ge=0, le=10_000_000)
    price_band_high_yuan: int = Field(500, ge=0, le=10_000_000)
    new_follower_days: int = Field(7, ge=0, le=365)
    engaged_days: int = Field(14, ge=0, le=365)

    @model_validator(mode="after")
    def _consistent(self) -> TagRules:
        if self.price_band_high_yuan <= self.price_band_low_yuan:
            raise ValueError("price_band_high_yuan must be greater than price_band_low_yuan")
        for cat, days in self.dormant_days_by_category.items():
            if not 1 <= days <= 3650:
                raise ValueError(f"dormant_days_by_category.{cat} must be between 1 and 3650")
        if any(not w.strip() for w in self.campus_words):
            raise ValueError("campus_words must not contain empty words")
        return self

    def dormant_days_for(self, category: str | None) -> int:
        return self.dormant_days_by_category.get(category or "", self.dormant_default_days)

    def rfm_for(self, category: str | None) -> RfmBand:
        return self.rfm_by_category.get(category or "", self.rfm_default)


class TagRulesError(ValueError):
    """Invalid thresholds; ``fields`` maps a dotted field path to the reason."""

    def __init__(self, fields: dict[str, str]):
        super().__init__("invalid tag rules")
        self.fields = fields


def parse_rules(data: Any, catalogue: set[str] | frozenset[str] = frozenset()) -> TagRules:
    """Validate a thresholds document (partial documents keep the defaults for the rest).

    Per-category thresholds must name a category of the vocabulary or of the brand's
    ``catalogue``: a misspelt key would otherwise be ignored and the default used in silence.
    """
    if not isinstance(data, dict):
        raise TagRulesError({"": "must be an object"})
    known = known_categories(catalogue)
    unknown = {f"{name}.{key}": f"unknown category {key!r}"
               for name in ("dormant_days_by_category", "rfm_by_category")
               if isinstance(data.get(name), dict) for key in data[name] if key not in known}
    if unknown:
        raise TagRulesError(unknown)
    try:
        return TagRules.model_validate(data)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for err in exc.errors():
            path = ".".join(str(p) for p in err["loc"])
            reason = err["msg"].removeprefix("Value error, ")
            if not path and " must " in reason:  # cross-field checks name their field first
                path = reason.split(" ", 1)[0]
            fields[path or "tag_rules"] = reason
        raise TagRulesError(fields) from None


def load_rules(session: Session) -> TagRules:
    from models import Setting

    row = session.get(Setting, SETTING_KEY)
    return TagRules() if row is None else TagRules.model_validate(row.value)


def save_rules(session: Session, rules: TagRules, staff_id: int | None) -> None:
    from models import Setting

    row = session.get(Setting, SETTING_KEY)
    value = rules.model_dump(mode="json")
    if row is None:
        session.add(Setting(key=SETTING_KEY, value=value, updated_by=staff_id))
    else:
        row.value = value
        row.updated_by = staff_id
    session.flush()
