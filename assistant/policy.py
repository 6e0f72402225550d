"""The contact policy (疲劳度控制): may we message this customer now, on which channel, and if not, why.

Plain Python: the caller gathers a ``ContactHistory`` for the customer (what was sent, opt-outs,
reachable channels, the last inbound message per channel) and asks ``decide``. Every "no" carries
a reason a clerk or operator can read ("已在 7 天内收到 2 条营销消息").

Rules, in the order they are checked:
1. opt-outs per channel (退订) — a channel the customer left is never used;
2. reachability — the customer must have an address on the channel;
3. quiet hours in the store's timezone (marketing only; service messages such as 催付 or
   shipping notices are answers the customer expects). A marketing send that falls in quiet
   hours is **deferred** to their end (code ``deferred``, ``until`` set) when every other rule
   lets it through; it is checked again when it goes. Head office may choose "skip" instead,
   per source (clerk, task, campaign, automation);
4. per-customer caps across channels, marketing and service on separate budgets;
5. no duplicate content within N days (the same gift twice is worse than none — seed 001);
6. platform caps: WeCom mass messages ≈ 1 per customer per day; the OA customer-service
   window (48 h after the customer's last message, 5 messages in it);
7. channel priority and fallback: the first channel in priority order that passes 1, 2 and 6
   (channels outside the configured order — a bridge, the demo loopback — come last, by name).
   The default order is the connector registry's; the app fills it in (``PolicyConfig()`` alone
   has no preference).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

MARKETING = "marketing"
SERVICE = "service"
PURPOSES = (MARKETING, SERVICE)

# Vendor facts: the OA customer-service window and its quota (5 messages since 2023), and the
# WeCom external-contact mass-message cap (one a day per customer).
OA_WINDOW = dt.timedelta(hours=48)
OA_WINDOW_QUOTA = 5
WECOM_MASS_PER_DAY = 1

# Who asks for a send; quiet hours can be handled differently for each.
SOURCES = ("clerk", "task", "campaign", "automation")
QUIET_ACTIONS = ("defer", "skip")


@dataclass(frozen=True)
class PolicyConfig:
    """Thresholds head office can change; ``problems()`` names what does not make sense."""

    marketing_cap: int = 2
    marketing_window_days: int = 7
    service_cap: int = 6
    service_window_days: int = 1
    duplicate_content_days: int = 30
    quiet_start: dt.time = dt.time(21, 0)
    quiet_end: dt.time = dt.time(9, 0)
    channel_priority: tuple[str, ...] = ()  # empty: no preference, every reachable channel by name
    # What a marketing send that falls in quiet hours does, per source: wait for their end, or not go.
    quiet_actions: tuple[tuple[str, str], ...] = tuple((s, "defer") for s in SOURCES)

    def quiet_action(self, source: str) -> str:
        return dict(self.quiet_actions).get(source, "defer")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PolicyConfig:
        """Build from stored settings; raises ``ValueError`` with ``problems`` on bad values."""
        kw: dict[str, Any] = {}
        problems: dict[str, str] = {}
        for name in ("marketing_cap", "marketing_window_days", "service_cap",
                     "service_window_days", "duplicate_content_days"):
            if name in data:
                value = data[name]
                if isinstance(value, bool) or not isinstance(value, int):
                    problems[name] = "must be a whole number"
                else:
                    kw[name] = value
        for name in ("quiet_start", "quiet_end"):
            if name in data:
                try:
                    kw[name] = dt.time.fromisoformat(str(data[name]))
                except ValueError:
                    problems[name] = "must be a time like 21:00"
        if "channel_priority" in data:
            value = data["channel_priority"]
            if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
                problems["channel_priority"] = "must be a list of channel names"
            elif not value:
                problems["channel_priority"] = "needs at least one channel"
            else:
                kw["channel_priority"] = tuple(value)
        if "quiet_actions" in data:
            value = data["quiet_actions"]
            if not isinstance(value, Mapping):
                problems["quiet_actions"] = "must map each source to defer or skip"
            else:
                actions = dict(cls().quiet_actions)
                for source, action in value.items():
                    if source not in SOURCES:
                        problems[f"quiet_actions.{source}"] = f"unknown source; one of {', '.join(SOURCES)}"
                    elif action not in QUIET_ACTIONS:
                        problems[f"quiet_actions.{source}"] = "must be defer or skip"
                    else:
                        actions[source] = action
                kw["quiet_actions"] = tuple(actions.items())
        for name in sorted(set(data) - set(cls.__dataclass_fields__)):
            problems[name] = "unknown setting"
        config = cls(**kw)
        problems = {**config.problems(), **problems}  # every problem at once, not one per try
        if problems:
            raise PolicyConfigError(problems)
        return config

    def to_dict(self) -> dict[str, Any]:
        return {
            "marketing_cap": self.marketing_cap,
            "marketing_window_days": self.marketing_window_days,
            "service_cap": self.service_cap,
            "service_window_days": self.service_window_days,
            "duplicate_content_days": self.duplicate_content_days,
            "quiet_start": self.quiet_start.strftime("%H:%M"),
            "quiet_end": self.quiet_end.strftime("%H:%M"),
            "channel_priority": list(self.channel_priority),
            "quiet_actions": dict(self.quiet_actions),
        }

    def problems(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name in ("marketing_cap", "service_cap"):
            if getattr(self, name) < 0:
                out[name] = "cannot be negative"
        for name in ("marketing_window_days", "service_window_days"):
            if getattr(self, name) < 1:
                out[name] = "must be at least 1 day"
        if self.duplicate_content_days < 0:
            out["duplicate_content_days"] = "cannot be negative"
        if len(set(self.channel_priority)) != len(self.channel_priority):
            out["channel_priority"] = "lists a channel twice"
        return out


class PolicyConfigError(ValueError):
    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


@dataclass(frozen=True)
class Sent:
    """One earlier outbound message to the customer."""

    at: dt.datetime
    channel: str
    purpose: str
    content_hash: str | None = None
    mass: bool = False  # a WeCom mass message (add_msg_template) rather than a 1:1 reply


@dataclass
class ContactHistory:
    """What the policy needs to know of one customer; gathered by the caller in bulk."""

    reachable: set[str]
    opted_out: set[str] = field(default_factory=set)
    sent: list[Sent] = field(default_factory=list)
    last_inbound: dict[str, dt.datetime] = field(default_factory=dict)
    tz: str | None = None  # the customer's store timezone, when it differs from the brand's


@dataclass(frozen=True)
class Decision:
    allowed: bool
    channel: str | None
    code: str  # ok, deferred, opted_out, unreachable, quiet_hours, cap, duplicate, platform_cap
    reason: str  # zh-CN, for the clerk or operator
    skipped: tuple[tuple[str, str], ...] = ()  # channels passed over and why
    until: dt.datetime | None = None  # deferred: when quiet hours end (UTC)

    @property
    def deferred(self) -> bool:
        return self.code == DEFERRED


def content_hash(text: str) -> str:
    """Same words, same hash: whitespace and case do not make a message new."""
    normal = " ".join(text.split()).lower()
    return hashlib.sha256(normal.encode()).hexdigest()[:32]


DEFERRED = "deferred"


def in_quiet_hours(now: dt.datetime, config: PolicyConfig, tz: str) -> bool:
    local = now.astimezone(ZoneInfo(tz)).time()
    start, end = config.quiet_start, config.quiet_end
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end  # the window wraps midnight


def quiet_hours_end(now: dt.datetime, config: PolicyConfig, tz: str) -> dt.datetime | None:
    """When the quiet hours ``now`` falls in end (UTC), or None outside quiet hours."""
    if not in_quiet_hours(now, config, tz):
        return None
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    end = dt.datetime.combine(local.date(), config.quiet_end, tzinfo=zone)
    if end <= local:
        end = dt.datetime.combine(local.date() + dt.timedelta(days=1), config.quiet_end, tzinfo=zone)
    return end.astimezone(dt.timezone.utc)


def until_label(until: dt.datetime, now: dt.datetime, tz: str) -> str:
    """"09:00", or "明天 09:00" when it is not today in the store's timezone."""
    zone = ZoneInfo(tz)
    local, today = until.astimezone(zone), now.astimezone(zone).date()
    day = "" if local.date() == today else ("明天 " if local.date() == today + dt.timedelta(days=1)
                                            else f"{local.month}月{local.day}日 ")
    return f"{day}{local:%H:%M}"


def deferred_reason(until: dt.datetime, now: dt.datetime, tz: str) -> str:
    return f"免打扰时段，已顺延至 {until_label(until, now, tz)}"


def _window_count(sent: Iterable[Sent], purpose: str, since: dt.datetime) -> int:
    return sum(1 for s in sent if s.purpose == purpose and s.at > since)


def decide(history: ContactHistory, *, purpose: str, now: dt.datetime, config: PolicyConfig,
           tz: str = "Asia/Shanghai", text: str | None = None, channel: str | None = None,
           mass: bool = False, source: str = "campaign",
           open_channels: frozenset[str] | None = None) -> Decision:
    """May we send ``purpose`` now? ``channel`` pins one channel; otherwise priority decides.

    In quiet hours a marketing send that passes every other rule is ``deferred`` (``until`` the
    end of quiet hours in the customer's store timezone) unless ``source``'s action is "skip".
    ``open_channels``: the channels the brand can send on now (None: any); others are passed over.
    """
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}, not {purpose!r}")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = history.tz or tz
    quiet_end = quiet_hours_end(now, config, zone) if purpose == MARKETING else None
    if quiet_end is not None and config.quiet_action(source) == "skip":
        return Decision(False, None, "quiet_hours",
                        f"免打扰时段（{config.quiet_start:%H:%M}–{config.quiet_end:%H:%M}）")
    decision = _decide_now(history, purpose=purpose, now=now, config=config, text=text,
                           channel=channel, mass=mass, open_channels=open_channels)
    if quiet_end is not None and decision.allowed:
        return Decision(False, decision.channel, DEFERRED, deferred_reason(quiet_end, now, zone),
                        decision.skipped, until=quiet_end)
    return decision


def _decide_now(history: ContactHistory, *, purpose: str, now: dt.datetime, config: PolicyConfig,
                text: str | None, channel: str | None, mass: bool,
                open_channels: frozenset[str] | None) -> Decision:

    if purpose == MARKETING:
        cap, days = config.marketing_cap, config.marketing_window_days
        label = "营销"
    else:
        cap, days = config.service_cap, config.service_window_days
        label = "服务"
    used = _window_count(history.sent, purpose, now - dt.timedelta(days=days))
    if used >= cap:
        return Decision(False, None, "cap", f"已在 {days} 天内收到 {used} 条{label}消息（上限 {cap} 条）")

    if text is not None and config.duplicate_content_days > 0:
        digest = content_hash(text)
        since = now - dt.timedelta(days=config.duplicate_content_days)
        if any(s.content_hash == digest and s.at > since for s in history.sent):
            return Decision(False, None, "duplicate",
                            f"{config.duplicate_content_days} 天内已发送过相同内容")

    if channel:
        candidates: tuple[str, ...] = (channel,)
    else:  # the configured order first, then any other channel the customer is bound on
        extra = sorted(history.reachable - set(config.channel_priority))
        candidates = (*config.channel_priority, *extra)
    skipped: list[tuple[str, str]] = []
    for ch in candidates:
        why = _channel_refusal(history, ch, purpose, now, mass, open_channels)
        if why is None:
            return Decision(True, ch, "ok", "可以联系", tuple(skipped))
        skipped.append((ch, why[1]))
        last_code = why[0]
    if len(skipped) == 1:
        return Decision(False, None, last_code, skipped[0][1], tuple(skipped))
    return Decision(False, None, "unreachable", "没有可用的渠道：" + "；".join(f"{c} {r}" for c, r in skipped),
                    tuple(skipped))


def _channel_refusal(history: ContactHistory, channel: str, purpose: str, now: dt.datetime,
                     mass: bool, open_channels: frozenset[str] | None) -> tuple[str, str] | None:
    if channel in history.opted_out:
        return "opted_out", "客户已退订该渠道"
    if channel not in history.reachable:
        return "unreachable", "客户在该渠道没有联系方式"
    if open_channels is not None and channel not in open_channels:
        return "unavailable", "品牌还没有开通该渠道"
    if channel == "wecom" and mass:
        today = now - dt.timedelta(days=1)
        if sum(1 for s in history.sent if s.channel == "wecom" and s.mass and s.at > today) >= WECOM_MASS_PER_DAY:
            return "platform_cap", "企业微信群发每位客户每天 1 条，今日已用完"
    if channel == "wechat-oa":
        last_in = history.last_inbound.get("wechat-oa")
        if last_in is None or now - last_in > OA_WINDOW:
            if purpose == MARKETING:
                return "platform_cap", "公众号客服消息只能在客户 48 小时内互动后发送"
        else:
            in_window = sum(1 for s in history.sent if s.channel == "wechat-oa" and s.at > last_in)
            if in_window >= OA_WINDOW_QUOTA:
                return "platform_cap", f"公众号 48 小时窗口内已发 {in_window} 条（上限 {OA_WINDOW_QUOTA} 条）"
    return None
