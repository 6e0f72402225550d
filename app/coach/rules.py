"""The coach without a model: Chinese questions read by keywords, names, numbers and dates.

``answer(asker, question)`` finds the intent, calls the same tools the model path would, and
writes the answer from their results alone — so every number it says came from a tool this turn.
What it does not understand gets a plain "I can't help with that yet" and the questions it can.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from app.coach import tools
from app.i18n import t
from models.money import yuan

SURNAME_HONORIFIC = re.compile(r"([\u4e00-\u9fff])(女士|先生|小姐|姐姐|姐|哥|阿姨|叔叔|老师|总)")
CN_NUMBERS = {"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
COUNT = re.compile(r"(\d+|[一两二三四五六七八九十])\s*(个|位|名|人)")

# Intents in the order they are tried: the most specific words first.
INTENTS: list[tuple[str, tuple[str, ...]]] = [
    ("why", ("为什么", "为啥", "怎么会推荐", "理由")),
    ("purchases", ("买了什么", "买过什么", "买的什么", "上次买", "买过啥", "买了啥", "最近买", "买过哪些", "订单")),
    ("draft", ("写一条", "写条", "写个", "写段", "写一段", "帮我写", "怎么跟", "发什么", "文案", "怎么说", "话术", "写消息")),
    ("birthday", ("生日",)),
    ("running_out", ("快用完", "用完了", "用得差不多", "该补货", "补货", "回购", "复购", "该买了")),
    ("plan", ("怎么办", "怎么做", "该做什么", "冲业绩", "冲一冲", "补上", "差一点", "凑够", "完成目标", "达标")),
    ("progress", ("还差", "差多少", "目标", "完成了", "完成多少", "业绩", "卖了多少", "卖了几", "达成", "提成", "赚了")),
    ("today", ("联系谁", "找谁", "该联系", "推荐", "跟进谁", "先联系", "今天联系", "待办", "优先")),
]


@dataclass
class Reply:
    answer: str
    customers: list[dict[str, Any]] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    intent: str | None = None
    drafts: dict[int, tuple[int, str]] = field(default_factory=dict)  # customer id → (draft id, text)

    def json(self, source: str) -> dict[str, Any]:
        return {"answer": self.answer, "customers": self.customers, "numbers": self.numbers,
                "tool_calls": self.tool_calls, "source": source, "intent": self.intent}


def intent_of(question: str) -> str | None:
    q = question.replace(" ", "")
    for name, words in INTENTS:
        if any(w in q for w in words):
            return name
    return None


def count_in(question: str, default: int, high: int = 20) -> int:
    m = COUNT.search(question)
    if not m:
        return default
    raw = m.group(1)
    n = int(raw) if raw.isdigit() else CN_NUMBERS[raw]
    return max(1, min(n, high))


def named(asker: tools.Asker, question: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Followers the question names: (found, ambiguous). A full name wins; "王女士" matches the
    one follower surnamed 王, and several such followers come back as ambiguous."""
    book = tools.followers(asker)
    found = [(cid, name) for cid, name in sorted(book, key=lambda p: -len(p[1])) if len(name) >= 2 and name in question]
    found = [(cid, name) for cid, name in found if not any(name != other and name in other for _, other in found)]
    if found:
        return found, []
    for m in SURNAME_HONORIFIC.finditer(question):
        same = [(cid, name) for cid, name in book if name.startswith(m.group(1))]
        if len(same) == 1:
            return same, []
        if same:
            return [], same[:10]
    return [], []


def answer(asker: tools.Asker, question: str) -> Reply:
    intent = intent_of(question)
    handler = HANDLERS.get(intent) if intent else None
    if handler is None:
        return Reply(t("coach.cannot_help"), intent=None)
    reply = handler(asker, question)
    reply.intent = intent
    return reply


def _call(reply: Reply, name: str, **arguments: Any) -> None:
    reply.tool_calls.append({"name": name, "arguments": arguments})


def _card(item: dict[str, Any], why: str | None = None) -> dict[str, Any]:
    reasons = item.get("reasons") or []
    text = why if why is not None else "；".join(r["text"] if isinstance(r, dict) else r for r in reasons[:2])
    return {"id": item.get("customer_id", item.get("id")), "name": item["name"], "why": text,
            "expected_value": item.get("expected_value")}


def _one_named(asker: tools.Asker, question: str, reply: Reply) -> tuple[int, str] | None:
    found, ambiguous = named(asker, question)
    _call(reply, "find_customer", text=question[:60])
    if ambiguous:
        reply.answer = t("coach.which_one", n=len(ambiguous))
        reply.customers = [{"id": cid, "name": name, "why": ""} for cid, name in ambiguous]
        return None
    if not found:
        reply.answer = t("coach.who")
        return None
    return found[0]


def _progress(asker: tools.Asker, question: str) -> Reply:
    reply = Reply("")
    p = tools.month_progress(asker)
    _call(reply, "month_progress", period=p["period"])
    reply.numbers = {k: p[k] for k in ("sales", "orders", "commission", "target", "gap", "days_left", "pace_per_day")}
    if p["target"] is None:
        reply.answer = t("coach.progress_no_target", sales=p["sales"], orders=p["orders"], commission=p["commission"],
                         days=p["days_left"])
    elif tools._fen(p["gap"]) <= 0:
        reply.answer = t("coach.progress_done", sales=p["sales"], target=p["target"], commission=p["commission"])
    else:
        reply.answer = t("coach.progress_gap", sales=p["sales"], target=p["target"], gap=p["gap"], days=p["days_left"],
                         pace=p["pace_per_day"] or p["gap"])
        plan = _plan_reply(asker, tools._fen(p["gap"]), reply)
        reply.answer += plan
    return reply


def _plan(asker: tools.Asker, question: str) -> Reply:
    reply = Reply("")
    p = tools.month_progress(asker)
    _call(reply, "month_progress", period=p["period"])
    reply.numbers = {k: p[k] for k in ("sales", "target", "gap", "days_left")}
    if p["gap"] is None or tools._fen(p["gap"]) <= 0:
        # No target or already met: the plan is the day's best contacts by expected value.
        items = tools.today_list(asker, count_in(question, 10))
        _call(reply, "today_list", limit=len(items))
        reply.customers = [_card(i) for i in items]
        total = sum(tools._fen(i["expected_value"]) for i in items)
        reply.numbers["expected"] = yuan(total)
        key = "coach.plan_no_target" if p["target"] is None else "coach.plan_target_met"
        reply.answer = t(key, n=len(items), expected=yuan(total), sales=p["sales"])
        return reply
    reply.answer = t("coach.progress_gap", sales=p["sales"], target=p["target"], gap=p["gap"], days=p["days_left"],
                     pace=p["pace_per_day"] or p["gap"]) + _plan_reply(asker, tools._fen(p["gap"]), reply)
    return reply


def _plan_reply(asker: tools.Asker, gap_fen: int, reply: Reply) -> str:
    plan = tools.gap_plan(asker, gap_fen)
    _call(reply, "gap_plan", gap=plan["gap"])
    reply.customers = [_card(i) for i in plan["customers"]]
    reply.numbers.update(expected=plan["expected"], planned=len(plan["customers"]), eligible=plan["eligible"],
                         eligible_expected=plan["eligible_expected"])
    if not plan["customers"]:
        return t("coach.plan_nobody")
    if plan["covers"]:
        return t("coach.plan_covers", n=len(plan["customers"]), expected=plan["expected"], gap=plan["gap"])
    return t("coach.plan_short", n=len(plan["customers"]), expected=plan["expected"], gap=plan["gap"],
             eligible=plan["eligible"], eligible_expected=plan["eligible_expected"])


def _today(asker: tools.Asker, question: str) -> Reply:
    reply = Reply("")
    items = tools.today_list(asker, count_in(question, 10))
    _call(reply, "today_list", limit=len(items))
    reply.customers = [_card(i) for i in items]
    total = sum(tools._fen(i["expected_value"]) for i in items)
    reply.numbers = {"customers": len(items), "expected": yuan(total)}
    reply.answer = t("coach.today", n=len(items), expected=yuan(total)) if items else t("coach.today_none")
    return reply


def _about_one(handler):
    """A question about one follower: find whom it names first (or ask which one)."""
    def run(asker: tools.Asker, question: str) -> Reply:
        reply = Reply("")
        who = _one_named(asker, question, reply)
        return reply if who is None else handler(asker, question, reply, who)
    return run


@_about_one
def _why(asker: tools.Asker, question: str, reply: Reply, who: tuple[int, str]) -> Reply:
    card = tools.customer_card(asker, who[0])
    _call(reply, "customer_card", customer_id=who[0])
    reasons = card["reasons"] if card else []
    reply.customers = [{"id": who[0], "name": who[1], "why": "；".join(reasons[:3])}]
    reply.numbers = {"expected_value": card.get("expected_value") if card else None}
    if not reasons:
        reply.answer = t("coach.why_none", name=who[1])
    else:
        reply.answer = t("coach.why", name=who[1], reasons="；".join(reasons[:3]))
    return reply


@_about_one
def _purchases(asker: tools.Asker, question: str, reply: Reply, who: tuple[int, str]) -> Reply:
    orders = tools.last_purchases(asker, who[0])
    _call(reply, "last_purchases", customer_id=who[0])
    reply.customers = [{"id": who[0], "name": who[1], "why": ""}]
    if not orders:
        reply.answer = t("coach.purchases_none", name=who[1])
        return reply
    last = orders[0]
    things = "、".join(f"{i['name']}×{i['quantity']}" for i in last["items"]) or t("coach.items_unknown")
    reply.numbers = {"amount": last["amount"], "orders": len(orders)}
    reply.answer = t("coach.purchases", name=who[1], day=last["paid_at"][:10], items=things, amount=last["amount"])
    return reply


@_about_one
def _draft(asker: tools.Asker, question: str, reply: Reply, who: tuple[int, str]) -> Reply:
    card = tools.customer_card(asker, who[0])
    scenario = _scenario(question, (card or {}).get("action"))
    from app.drafts.actions import draft_for_customer

    draft, _ = draft_for_customer(asker.clerk, {"customer_id": who[0], "scenario": scenario})
    _call(reply, "draft_message", customer_id=who[0], scenario=scenario)
    reply.customers = [{"id": who[0], "name": who[1], "why": "", "draft": draft.text, "draft_id": draft.id}]
    reply.answer = t("coach.draft", name=who[1], text=draft.text)
    return reply


SCENARIO_WORDS = {"birthday": ("生日",), "replenish": ("补货", "用完", "回购"), "winback": ("好久", "唤醒", "沉睡", "流失"),
                  "new_arrival": ("新品", "上新", "新款"), "festival": ("节日", "过节", "双11", "双12", "春节", "中秋"),
                  "unpaid": ("催付", "没付款", "未付款"), "aftercare": ("售后", "用得怎么样", "回访")}


def _scenario(question: str, action: str | None) -> str:
    for scenario, words in SCENARIO_WORDS.items():
        if any(w in question for w in words):
            return scenario
    return action if action in ("birthday", "replenish", "winback", "new_arrival", "unpaid") else "aftercare"


def _birthday(asker: tools.Asker, question: str) -> Reply:
    reply = Reply("")
    days = 31 if "这个月" in question or "本月" in question else (1 if "今天" in question else 7)
    found = tools.birthdays(asker, days)
    _call(reply, "birthdays", days=days)
    reply.customers = [{"id": f["id"], "name": f["name"], "why": t("coach.birthday_on", day=f["day"][5:])} for f in found]
    reply.numbers = {"customers": len(found), "days": days}
    reply.answer = t("coach.birthdays", n=len(found), days=days) if found else t("coach.birthdays_none", days=days)
    return reply


def _running_out(asker: tools.Asker, question: str) -> Reply:
    reply = Reply("")
    found = tools.running_out(asker, count_in(question, 10))
    _call(reply, "running_out", limit=len(found))
    reply.customers = [{"id": f["id"], "name": f["name"], "why": f["why"]} for f in found]
    reply.numbers = {"customers": len(found)}
    reply.answer = t("coach.running_out", n=len(found)) if found else t("coach.running_out_none")
    return reply


HANDLERS = {"progress": _progress, "plan": _plan, "today": _today, "why": _why, "purchases": _purchases,
            "draft": _draft, "birthday": _birthday, "running_out": _running_out}
