"""The segment filter language (DESIGN.md, "Segment filters") compiled to one SQL WHERE clause.

A filter is ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": {...}}`` or a condition
``{"field": F, "op": OP, "value": V}``. ``compile_filter`` validates the whole tree first and
raises ``FilterError(path, reason)`` naming the offending path (``all[2].op``); then it builds a
SQLAlchemy boolean clause over ``Customer`` — conditions on orders, tags, bindings and channels
become correlated EXISTS subqueries, so the database does all the work and no customer is
loaded into Python to be filtered.

Days are the brand's calendar days: ``during ["2026-11-10", "2026-11-11"]`` means from
10 November 00:00 to 12 November 00:00 in the brand timezone.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, extract, literal_column, not_, or_, select, true
from sqlalchemy.orm import aliased

from assistant.tag_facts import paid_order_clause
from assistant.tag_vocabulary import birthday_offsets
from models import (ChannelIdentity, Customer, CustomerOptOut, CustomerTag,
                    FollowerBinding, Order, Staff, Tag)

STAGES = ("prospect", "new", "repeat", "dormant", "fan")
MAX_DEPTH = 6
MAX_NODES = 100
MAX_LIST = 500
MAX_DAYS = 3660


class FilterError(ValueError):
    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path or "filter"
        self.reason = reason


@dataclass
class Context:
    now: dt.datetime
    tz: ZoneInfo
    channels: tuple[str, ...]  # the channel kinds there are (the app reads the connector registry)

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(self.tz).date()

    def start_of(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), self.tz).astimezone(dt.timezone.utc)


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# Value checks: each returns the parsed value or raises FilterError at ``path``.

def _number(value: Any, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FilterError(path, "must be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise FilterError(path, "must be a number") from None
    if not number.is_finite() or number < 0:
        raise FilterError(path, "must be a number ≥ 0")
    return number


def _fen(value: Any, path: str) -> int:
    """Yuan on the wire (a number or "268.00") → integer fen."""
    yuan = _number(value, path)
    if yuan.as_tuple().exponent < -2:  # type: ignore[operator]
        raise FilterError(path, "at most 2 decimals (yuan)")
    return int(yuan * 100)


def _count(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FilterError(path, "must be a whole number ≥ 0")
    return value


def _days(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
        raise FilterError(path, f"must be a whole number of days between 0 and {MAX_DAYS}")
    return value


def _date(value: Any, path: str) -> dt.date:
    if not isinstance(value, str):
        raise FilterError(path, "must be a date YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise FilterError(path, "must be a date YYYY-MM-DD") from None


def _date_range(value: Any, path: str) -> tuple[dt.date, dt.date]:
    if not isinstance(value, list) or len(value) != 2:
        raise FilterError(path, "must be [from, to] dates")
    start, end = _date(value[0], f"{path}[0]"), _date(value[1], f"{path}[1]")
    if end < start:
        raise FilterError(path, "range is backwards: 'to' is before 'from'")
    return start, end


def _strings(value: Any, path: str, allowed: tuple[str, ...] | None = None, single_ok: bool = False) -> list[str]:
    if single_ok and isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise FilterError(path, "must be a non-empty list of strings")
    if len(value) > MAX_LIST:
        raise FilterError(path, f"at most {MAX_LIST} items")
    for i, v in enumerate(value):
        if not isinstance(v, str) or not v.strip():
            raise FilterError(f"{path}[{i}]", "must be a non-empty string")
        if allowed is not None and v not in allowed:
            raise FilterError(f"{path}[{i}]", f"must be one of {', '.join(allowed)}")
    return value


def _ids(value: Any, path: str) -> list[int]:
    if not isinstance(value, list) or not value:
        raise FilterError(path, "must be a non-empty list of ids")
    if len(value) > MAX_LIST:
        raise FilterError(path, f"at most {MAX_LIST} items")
    for i, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, int):
            raise FilterError(f"{path}[{i}]", "must be an id (whole number)")
    return value


# Field compilers: (condition, path, ctx) → clause. ``cond`` has been shape-checked.
# Conditions on other tables are ``customers.id IN (SELECT customer_id …)``: the subquery runs
# once off its own index (orders by paid_at, tags by tag) instead of once per customer, which is
# what SQLite does with a correlated EXISTS; PostgreSQL plans both as a semi-join.

def _has_order(*where) -> ColumnElement[bool]:
    return Customer.id.in_(select(Order.customer_id).where(*where))


def _compare(column, op: str, value: Any, path: str, parse: Callable[[Any, str], Any]) -> ColumnElement[bool]:
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise FilterError(_at(path, "value"), "must be [low, high]")
        low, high = parse(value[0], _at(path, "value[0]")), parse(value[1], _at(path, "value[1]"))
        if high < low:
            raise FilterError(_at(path, "value"), "range is backwards: high is below low")
        return column.between(low, high)
    v = parse(value, _at(path, "value"))
    return {">=": column >= v, "<=": column <= v, "=": column == v, ">": column > v}[op]


def _paid_between(ctx: Context, start: dt.date, end: dt.date):
    return and_(Order.paid_at >= ctx.start_of(start), Order.paid_at < ctx.start_of(end + dt.timedelta(days=1)))


def _time_column(column, op: str, cond: dict, path: str, ctx: Context) -> ColumnElement[bool]:
    value = cond.get("value")
    if op == "during":
        start, end = _date_range(value, _at(path, "value"))
        return and_(column >= ctx.start_of(start), column < ctx.start_of(end + dt.timedelta(days=1)))
    if op == "before":
        return column < ctx.start_of(_date(value, _at(path, "value")))
    if op == "after":
        return column >= ctx.start_of(_date(value, _at(path, "value")) + dt.timedelta(days=1))
    days = _days(value, _at(path, "value"))  # within_days: today and the N days before it
    return column >= ctx.start_of(ctx.today - dt.timedelta(days=days))


def _stage(cond, op, path, ctx):
    return Customer.stage.in_(_strings(cond.get("value"), _at(path, "value"), STAGES))


def _tag(cond, op, path, ctx):
    names = _strings(cond.get("value"), _at(path, "value"), single_ok=True)

    def has(name_clause):
        return Customer.id.in_(select(CustomerTag.customer_id).join(Tag, Tag.id == CustomerTag.tag_id).where(name_clause))

    if op == "has":
        return and_(*[has(Tag.name == n) for n in names])
    if op == "has_any":
        return has(Tag.name.in_(names))
    return not_(has(Tag.name.in_(names)))


def _paid_orders(cond, op, path, ctx):
    return _compare(Customer.paid_orders, op, cond.get("value"), path, _count)


def _total_spent(cond, op, path, ctx):
    return _compare(Customer.total_spent_fen, op, cond.get("value"), path, _fen)


def _order_amount(cond, op, path, ctx):
    clause = [paid_order_clause(), _compare(Order.amount_fen, op, cond.get("value"), path, _fen)]
    if "during" in cond:
        clause.append(_paid_between(ctx, *_date_range(cond["during"], _at(path, "during"))))
    return _has_order(*clause)


def _paid_between_field(cond, op, path, ctx):
    start, end = _date_range(cond.get("value"), _at(path, "value"))
    return _has_order(paid_order_clause(), _paid_between(ctx, start, end))


def _first_paid(cond, op, path, ctx):
    return _time_column(Customer.first_paid_at, op, cond, path, ctx)


def _last_paid(cond, op, path, ctx):
    return _time_column(Customer.last_paid_at, op, cond, path, ctx)


def _unpaid(cond, op, path, ctx):
    # A literal (not a bound parameter) so the planner can use the partial index on unpaid orders.
    unpaid = Order.status == literal_column("'created'")
    return _has_order(unpaid, _compare(Order.amount_fen, op, cond.get("value"), path, _fen))


def _address(cond, op, path, ctx):
    words = _strings(cond.get("value"), _at(path, "value"))
    return or_(*[Customer.address.contains(w, autoescape=True) for w in words])


def _owner(clerk_clause):
    return Customer.id.in_(select(FollowerBinding.customer_id).where(
        FollowerBinding.current_owner(), clerk_clause))


def _store(cond, op, path, ctx):
    ids = _ids(cond.get("value"), _at(path, "value"))
    clerk = aliased(Staff)
    owner_in_store = _owner(FollowerBinding.clerk_id.in_(select(clerk.id).where(clerk.store_id.in_(ids))))
    # A customer with no owning clerk belongs to their home store.
    return or_(owner_in_store, and_(~_owner(true()), Customer.home_store_id.in_(ids)))


def _clerk(cond, op, path, ctx):
    return _owner(FollowerBinding.clerk_id.in_(_ids(cond.get("value"), _at(path, "value"))))


def _birthday(cond, op, path, ctx):
    offsets = birthday_offsets(ctx.today, _days(cond.get("value"), _at(path, "value")))
    if len(offsets) >= 366:
        return Customer.birthday.is_not(None)
    key = extract("month", Customer.birthday) * 100 + extract("day", Customer.birthday)
    return key.in_(sorted(offsets))


def _channel(cond, op, path, ctx):
    channel = cond.get("value")
    if channel not in ctx.channels:
        raise FilterError(_at(path, "value"), f"must be one of {', '.join(ctx.channels)}")
    identity = Customer.id.in_(select(ChannelIdentity.customer_id).where(ChannelIdentity.channel == channel))
    opted_out = Customer.id.in_(select(CustomerOptOut.customer_id).where(CustomerOptOut.channel == channel))
    return and_(identity, not_(opted_out))


def _last_contacted(cond, op, path, ctx):
    since = ctx.start_of(ctx.today - dt.timedelta(days=_days(cond.get("value"), _at(path, "value"))))
    recent = Customer.last_contacted_at >= since
    if op == "within_days":
        return recent
    return or_(Customer.last_contacted_at.is_(None), Customer.last_contacted_at < since)


@dataclass(frozen=True)
class Field:
    """One field of the filter language: its operators, what its value is, and its SQL.

    ``value`` tells a form what to ask for: ``strings`` (a list), ``string``, ``int``, ``money``
    (yuan), ``dates`` (``[from, to]``), ``time`` (a date range, a date or a number of days) or
    ``ids``. ``vocabulary`` names the list the values come from (``stage``: ``STAGES``;
    ``channel``: the channel kinds the caller passes). ``during``: the condition may also carry
    ``"during": [from, to]``.
    """

    ops: tuple[str, ...]
    build: Callable[..., ColumnElement[bool]]
    value: str
    vocabulary: str | None = None
    during: bool = False


TIME_OPS = ("during", "before", "after", "within_days")
COUNT_OPS = (">=", "<=", "=", "between")
FIELDS: dict[str, Field] = {
    "stage": Field(("in",), _stage, "strings", vocabulary="stage"),
    "tag": Field(("has", "has_any", "has_none"), _tag, "strings"),
    "paid_orders": Field(COUNT_OPS, _paid_orders, "int"),
    "total_spent": Field(COUNT_OPS, _total_spent, "money"),
    "order_amount": Field((">", ">=", "between"), _order_amount, "money", during=True),
    "paid_between": Field(("during",), _paid_between_field, "dates"),
    "first_paid_at": Field(TIME_OPS, _first_paid, "time"),
    "last_paid_at": Field(TIME_OPS, _last_paid, "time"),
    "unpaid_order_amount": Field((">", ">="), _unpaid, "money"),
    "address": Field(("contains_any",), _address, "strings"),
    "store": Field(("in",), _store, "ids"),
    "clerk": Field(("in",), _clerk, "ids"),
    "birthday": Field(("within_days",), _birthday, "int"),
    "channel": Field(("reachable",), _channel, "string", vocabulary="channel"),
    "last_contacted": Field(("within_days", "not_within_days"), _last_contacted, "int"),
}
_CONDITION_KEYS = {"field", "op", "value"}


def compile_filter(filter_: Any, now: dt.datetime, tz: ZoneInfo, *,
                   channels: tuple[str, ...]) -> ColumnElement[bool]:
    """A WHERE clause over ``Customer`` for the filter; ``FilterError`` names the bad path."""
    ctx = Context(now=now, tz=tz, channels=channels)
    nodes = [0]

    def walk(node: Any, path: str, depth: int) -> ColumnElement[bool]:
        nodes[0] += 1
        if nodes[0] > MAX_NODES:
            raise FilterError(path, f"filter too large: at most {MAX_NODES} conditions and groups")
        if depth > MAX_DEPTH:
            raise FilterError(path, f"nested too deeply: at most {MAX_DEPTH} levels")
        if not isinstance(node, dict):
            raise FilterError(path, "must be an object")
        prefix = f"{path}." if path else ""
        groups = [k for k in ("all", "any", "not") if k in node]
        if groups:
            if len(node) != 1:
                raise FilterError(path, "a group has exactly one key: all, any or not")
            key = groups[0]
            if key == "not":
                return not_(walk(node["not"], f"{prefix}not", depth + 1))
            children = node[key]
            if not isinstance(children, list) or not children:
                raise FilterError(f"{prefix}{key}", "must be a non-empty list")
            clauses = [walk(child, f"{prefix}{key}[{i}]", depth + 1) for i, child in enumerate(children)]
            return and_(*clauses) if key == "all" else or_(*clauses)
        field = node.get("field")
        if "field" not in node:
            raise FilterError(path, "must be a group (all/any/not) or a condition with field, op, value")
        if field not in FIELDS:
            raise FilterError(f"{prefix}field", f"unknown field; one of {', '.join(FIELDS)}")
        spec = FIELDS[field]
        op = node.get("op")
        if op not in spec.ops:
            raise FilterError(f"{prefix}op", f"unknown operator for {field}; one of {', '.join(spec.ops)}")
        unknown = set(node) - _CONDITION_KEYS - ({"during"} if spec.during else set())
        if unknown:
            raise FilterError(f"{prefix}{sorted(unknown)[0]}", "unknown key")
        if "value" not in node:
            raise FilterError(f"{prefix}value", "required")
        return spec.build(node, op, path, ctx)

    return walk(filter_, "", 1)


def segment_query(filter_: Any, now: dt.datetime, tz: ZoneInfo, scope: ColumnElement[bool] | None = None, *,
                  channels: tuple[str, ...]):
    """``SELECT customers WHERE filter [AND scope]``, ready for counting or sampling."""
    where = compile_filter(filter_, now, tz, channels=channels)
    return select(Customer).where(where, scope if scope is not None else true())


__all__ = ["compile_filter", "segment_query", "FilterError", "Field", "FIELDS", "STAGES", "MAX_DEPTH", "MAX_NODES"]
