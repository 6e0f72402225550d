"""The drafting scenarios (场景), tones, stage words, salutations and festivals: the vocabulary of a draft."""
from __future__ import annotations

import datetime as dt

SCENARIOS: dict[str, str] = {
    "unpaid": "催付",
    "replenish": "补货",
    "birthday": "生日",
    "festival": "节日",
    "winback": "休眠唤醒",
    "new_arrival": "新品",
    "aftercare": "售后关怀",
    "task": "关怀任务",
}
# Chinese names, the ranker's action words and the console's button names all map to one key.
SCENARIO_ALIASES = {label: key for key, label in SCENARIOS.items()} | {
    "唤醒": "winback", "生日关怀": "birthday", "新品推荐": "new_arrival", "补货提醒": "replenish",
    "节日问候": "festival", "replenishment": "replenish", "holiday": "festival", "payment": "unpaid"}
# Service messages answer something the customer did (an order, a purchase); the rest is
# marketing, which on SMS must carry the opt-out.
SERVICE_SCENARIOS = frozenset({"unpaid", "aftercare"})
TONES = {"friendly": "亲切自然，像熟悉的朋友", "professional": "专业稳重，简洁有礼", "lively": "活泼热情，可以用一个表情"}
STAGE_LABELS = {"prospect": "潜客", "new": "新客", "repeat": "老客", "dormant": "休眠流失", "fan": "粉丝"}

# Fixed-date and (for the next years) lunar festivals, for the 节日 scenario's default occasion.
_FIXED_FESTIVALS = ((1, 1, "元旦"), (2, 14, "情人节"), (3, 8, "妇女节"), (5, 1, "劳动节"), (6, 1, "儿童节"),
                    (9, 10, "教师节"), (10, 1, "国庆节"), (11, 11, "双十一"), (12, 12, "双十二"), (12, 25, "圣诞节"))
_LUNAR_FESTIVALS = {dt.date(2026, 2, 17): "春节", dt.date(2026, 6, 19): "端午节", dt.date(2026, 8, 19): "七夕",
                    dt.date(2026, 9, 25): "中秋节", dt.date(2027, 2, 6): "春节", dt.date(2027, 6, 9): "端午节",
                    dt.date(2027, 8, 8): "七夕", dt.date(2027, 9, 15): "中秋节", dt.date(2028, 1, 26): "春节"}


def normalise_scenario(value: str | None) -> str | None:
    """The scenario key for a key or its Chinese name (催付 → unpaid); None when unknown."""
    if not value:
        return None
    value = value.strip()
    return value if value in SCENARIOS else SCENARIO_ALIASES.get(value)


def salutation(name: str, gender: str | None) -> str:
    """王女士 / 李先生 for a Chinese name with a known gender, else the name itself."""
    if gender in ("F", "M") and 2 <= len(name) <= 4 and all("\u4e00" <= ch <= "\u9fff" for ch in name):
        return name[0] + ("女士" if gender == "F" else "先生")
    return name


def festival_for(today: dt.date) -> str:
    """The festival within the next two weeks (or today), else a generic 节日."""
    for offset in range(0, 15):
        day = today + dt.timedelta(days=offset)
        if day in _LUNAR_FESTIVALS:
            return _LUNAR_FESTIVALS[day]
        for month, dom, name in _FIXED_FESTIVALS:
            if (day.month, day.day) == (month, dom):
                return name
    return "节日"
