"""Ingestion actions: bulk upsert of stores, products and customers, and recording orders.

Every action takes a session already in a transaction and a list of plain objects (decoded JSON
or CSV rows mapped to the same shape), and returns an ``IngestResult``. The work is set-based:

1. check every object in Python (``validate``), naming each bad field;
2. resolve every external id the batch refers to with one query per kind;
3. write new rows with one multi-row INSERT per table and changed rows with one executemany
   UPDATE, leaving unchanged rows alone (so re-posting the same payload writes nothing and no
   ``updated_at`` moves).

Rejected objects are named and skipped; the valid ones land together with the caller's commit,
so nothing is ever half-written. The API and ``flask import`` call these same functions.
"""
from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session

from app import hooks
from app.db import bulk_insert
from app.i18n import t
from app.ingest import validate as v
from models.money import yuan
from models import (ChannelIdentity, Customer, FollowerBinding, Order, OrderItem, Product, Role,
                    Staff, Store, can_transition, utcnow)

DEFAULT_FOLLOW_CHANNEL = v.IN_STORE
STATUS_TIME = {"paid": "paid_at", "shipped": "shipped_at", "delivered": "delivered_at",
               "completed": "completed_at", "cancelled": "cancelled_at", "refunded": "refunded_at"}
UNPAID = frozenset({"created", "cancelled"})
_OWNER_ROLES = (Role.clerk, Role.manager)


@dataclass
class Rejection:
    index: int
    external_id: str | None
    fields: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "external_id": self.external_id, "fields": self.fields}


@dataclass
class IngestResult:
    """What a batch did: ``accepted`` counts objects that are now as sent (new, changed or
    already so); ``created``/``updated`` say how many rows were actually written."""

    accepted: int = 0
    created: int = 0
    updated: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "created": self.created, "updated": self.updated,
                "rejected": [r.to_dict() for r in self.rejected]}


class _Batch:
    """The checked objects of one request, with the rejections collected so far."""

    def __init__(self, rows: Sequence[Any], check, key: str, tz: dt.tzinfo | None) -> None:
        self.tz = tz or v.brand_timezone(current_app.config["BRAND_TIMEZONE"])
        self.key = key
        self.result = IngestResult()
        self.valid: list[tuple[int, dict[str, Any]]] = []
        seen: dict[str, int] = {}
        for index, obj in enumerate(rows):
            values, errors = check(obj, self.tz)
            ext = values.get(key)
            if ext is not None and ext in seen and not errors:
                errors[key] = t("ingest.duplicate_in_batch", index=seen[ext])
            if errors:
                raw = obj.get(key) if isinstance(obj, dict) else None
                self.reject(index, raw if isinstance(raw, str) else ext, errors)
                continue
            seen[ext] = index
            self.valid.append((index, values))

    def reject(self, index: int, external_id: str | None, fields: dict[str, str]) -> None:
        self.result.rejected.append(Rejection(index, external_id, fields))

    def keys(self, name: str | None = None) -> set[str]:
        name = name or self.key
        return {values[name] for _, values in self.valid if values.get(name) is not None}

    def finish(self) -> IngestResult:
        self.result.rejected.sort(key=lambda r: r.index)
        return self.result


# Lookups: one query per kind for the whole batch ----------------------------------------------

def _ids_by(session: Session, column, keys: Iterable[str], id_column) -> dict[str, int]:
    keys = list(keys)
    if not keys:
        return {}
    return dict(session.execute(select(column, id_column).where(column.in_(keys))).all())


def _existing(session: Session, model, key_column, keys: set[str], columns: list[str]) -> dict[str, dict[str, Any]]:
    if not keys:
        return {}
    table = model.__table__
    names = ["id", *columns]
    rows = session.execute(select(*(table.c[c] for c in names)).where(key_column.in_(list(keys))))
    # Plain strings for enum columns, so comparisons and messages see "paid", not OrderStatus.paid.
    # Only the columns typed as enums need looking at; the rest are taken as they come.
    enums = [c for c in names if getattr(table.c[c].type, "enum_class", None) is not None]
    key = key_column.key
    found = {}
    for row in rows:
        record = dict(zip(names, row))
        for c in enums:
            val = record[c]
            if isinstance(val, enum.Enum):
                record[c] = val.value
        found[record[key]] = record
    return found


def _clerk_ids(session: Session, refs: set[str]) -> dict[str, int]:
    """Staff who may own followers, addressed by external id or username."""
    if not refs:
        return {}
    found: dict[str, int] = {}
    rows = session.execute(select(Staff.id, Staff.external_id, Staff.username).where(
        or_(Staff.external_id.in_(list(refs)), Staff.username.in_(list(refs))),
        Staff.active.is_(True), Staff.role.in_(_OWNER_ROLES)))
    for staff_id, external_id, username in rows:
        # An external id wins over someone else's identical username.
        if username in refs:
            found.setdefault(username, staff_id)
        if external_id in refs:
            found[external_id] = staff_id
    return found


# Writes: multi-row statements -----------------------------------------------------------------

def _insert_returning_ids(session: Session, model, key: str, rows: list[dict[str, Any]]) -> dict[str, int]:
    if not rows:
        return {}
    table = model.__table__
    result = session.execute(insert(table).returning(table.c[key], table.c.id), rows)
    return dict(result.all())


def _update_rows(session: Session, model, rows: list[dict[str, Any]]) -> None:
    """One executemany UPDATE per distinct set of changed columns (ORM bulk update by id)."""
    if rows:
        session.execute(update(model), rows)


def _diff(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    return {k: val for k, val in wanted.items() if current.get(k) != val}


def _upsert_simple(session: Session, batch: _Batch, model, key: str, spec: v.Spec,
                   defaults: dict[str, Any], resolve=None) -> tuple[dict[str, int], list[int]]:
    """Insert new and update changed rows of a table keyed by ``key``; return (new ids, changed ids)."""
    wanted_cols = [spec[name][0] for name in spec if spec[name][0]] + list(defaults)
    wanted_cols = list(dict.fromkeys(wanted_cols))
    existing = _existing(session, model, model.__table__.c[key], batch.keys(), wanted_cols)
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for index, values in batch.valid:
        cols = v.columns(values, spec)
        if resolve is not None:
            errors = resolve(values, cols)
            if errors:
                batch.reject(index, values[key], errors)
                continue
        batch.result.accepted += 1
        current = existing.get(cols[key])
        if current is None:
            inserts.append({c: cols.get(c, defaults.get(c)) for c in wanted_cols})
        else:
            changed = _diff(current, cols)
            if changed:
                updates.append({"id": current["id"], **changed})
    new_ids = _insert_returning_ids(session, model, key, inserts)
    _update_rows(session, model, updates)
    batch.result.created += len(inserts)
    batch.result.updated += len(updates)
    return new_ids, [u["id"] for u in updates]


# Stores and products ------------------------------------------------------------------------

def upsert_stores(session: Session, rows: Sequence[Any], tz: dt.tzinfo | None = None) -> IngestResult:
    """Create or update stores by ``external_id``."""
    batch = _Batch(rows, v.check_store, "external_id", tz)
    _upsert_simple(session, batch, Store, "external_id", v.STORE,
                   {"city": None, "province": None, "timezone": None})
    return batch.finish()


def upsert_products(session: Session, rows: Sequence[Any], tz: dt.tzinfo | None = None) -> IngestResult:
    """Create or update products by ``sku`` (the product's external id)."""
    batch = _Batch(rows, v.check_product, "sku", tz)
    _upsert_simple(session, batch, Product, "sku", v.PRODUCT,
                   {"usage_days": None, "in_stock": True, "image_url": None, "url": None, "launched_at": None})
    return batch.finish()


# Customers ----------------------------------------------------------------------------------

def upsert_customers(session: Session, rows: Sequence[Any], tz: dt.tzinfo | None = None) -> IngestResult:
    """Create or update customers by ``external_id``.

    ``store`` sets the home store; ``clerk`` (staff external id or username) makes that clerk the
    customer's owner (one owner per customer: a previous owner keeps following, as non-owner);
    ``identities`` adds channel identities, refusing one that already belongs to someone else.
    """
    batch = _Batch(rows, v.check_customer, "external_id", tz)
    store_ids = _ids_by(session, Store.external_id, batch.keys("store"), Store.id)
    clerk_ids = _clerk_ids(session, batch.keys("clerk"))
    identity_owner = _identity_owners(session, batch)
    customer_ids = _ids_by(session, Customer.external_id, batch.keys(), Customer.id)
    claimed: dict[tuple[str, str, str], str] = {}  # identity → first customer in this batch to claim it

    def resolve(values: dict[str, Any], cols: dict[str, Any]) -> dict[str, str]:
        errors: dict[str, str] = {}
        if "store" in values:
            ref = values["store"]
            cols["home_store_id"] = None if ref is None else store_ids.get(ref)
            if ref is not None and cols["home_store_id"] is None:
                errors["store"] = t("ingest.unknown_store")
        if values.get("clerk") is not None and values["clerk"] not in clerk_ids:
            errors["clerk"] = t("ingest.unknown_clerk")
        mine = customer_ids.get(values["external_id"])
        for i, ident in enumerate(values.get("identities", [])):
            holder = identity_owner.get(ident)
            claimant = claimed.setdefault(ident, values["external_id"])
            if (holder is not None and holder != mine) or claimant != values["external_id"]:
                errors[f"identities[{i}]"] = t("ingest.identity_taken")
        return errors

    defaults = {c: None for name, (c, *_rest) in v.CUSTOMER.items() if c} | {"home_store_id": None}
    new_ids, _changed = _upsert_simple(session, batch, Customer, "external_id", v.CUSTOMER, defaults, resolve)
    customer_ids.update(new_ids)
    rejected = {r.index for r in batch.result.rejected}
    accepted = [(customer_ids[values["external_id"]], values) for index, values in batch.valid
                if index not in rejected]
    _add_identities(session, accepted, identity_owner)
    _bind_owners(session, [(cid, clerk_ids[values["clerk"]], values.get("channel") or DEFAULT_FOLLOW_CHANNEL)
                           for cid, values in accepted if values.get("clerk") is not None])
    return batch.finish()


def _identity_owners(session: Session, batch: _Batch) -> dict[tuple[str, str, str], int]:
    wanted = {ident for _, values in batch.valid for ident in values.get("identities", [])}
    if not wanted:
        return {}
    rows = session.execute(select(ChannelIdentity.channel, ChannelIdentity.account, ChannelIdentity.external_id,
                                  ChannelIdentity.customer_id)
                           .where(ChannelIdentity.external_id.in_(sorted({ext for _, _, ext in wanted}))))
    return {(ch, acc, ext): cid for ch, acc, ext, cid in rows if (ch, acc, ext) in wanted}


def _add_identities(session: Session, accepted: list[tuple[int, dict[str, Any]]],
                    owners: dict[tuple[str, str, str], int]) -> None:
    new = {}
    for customer_id, values in accepted:
        for ident in values.get("identities", []):
            if ident not in owners and ident not in new:
                new[ident] = {"customer_id": customer_id, "channel": ident[0], "account": ident[1],
                              "external_id": ident[2], "created_at": utcnow()}
    if new:
        session.execute(insert(ChannelIdentity.__table__), list(new.values()))


def _bind_owners(session: Session, wanted: list[tuple[int, int, str]]) -> None:
    """Make each (customer, clerk, channel) the customer's one active owner binding."""
    if not wanted:
        return
    customer_ids = [cid for cid, _, _ in wanted]
    bindings = session.execute(select(FollowerBinding.id, FollowerBinding.customer_id, FollowerBinding.clerk_id,
                                      FollowerBinding.channel, FollowerBinding.is_owner, FollowerBinding.ended_at)
                               .where(FollowerBinding.customer_id.in_(customer_ids))).all()
    owner_of = {b.customer_id: b for b in bindings if b.is_owner and b.ended_at is None}
    by_key = {(b.customer_id, b.clerk_id, b.channel): b for b in bindings}
    demote, promote, inserts, changed = [], [], [], []
    now = utcnow()
    for customer_id, clerk_id, channel in wanted:
        owner = owner_of.get(customer_id)
        if owner is not None and owner.clerk_id == clerk_id:
            continue  # already the owner, whatever channel they met on
        if owner is not None:
            demote.append({"id": owner.id, "is_owner": False})
        existing = by_key.get((customer_id, clerk_id, channel))
        if existing is not None:
            promote.append({"id": existing.id, "is_owner": True, "ended_at": None, "end_reason": None})
        else:
            inserts.append({"customer_id": customer_id, "clerk_id": clerk_id, "channel": channel,
                            "is_owner": True, "since": now, "ended_at": None, "end_reason": None})
        changed.append((customer_id, clerk_id))
    # Demote first: the one-owner index is checked statement by statement.
    _update_rows(session, FollowerBinding, demote)
    _update_rows(session, FollowerBinding, promote)
    if inserts:
        session.execute(insert(FollowerBinding.__table__), inserts)
    for customer_id, clerk_id in changed:
        hooks.fire(session, hooks.FOLLOWER_CHANGED, customer_id=customer_id, clerk_id=clerk_id)


# Orders -------------------------------------------------------------------------------------

# Field → column for the order fields stored as they are (``v.columns`` without the lookups).
_ORDER_FIELD_COLUMNS = {name: column for name, (column, *_rest) in v.ORDER.items() if column}
_ORDER_COLUMNS = ["external_id", "customer_id", "store_id", "clerk_id", "status", "amount_fen",
                  "refund_amount_fen", "created_at", *STATUS_TIME.values()]


def record_orders(session: Session, rows: Sequence[Any], tz: dt.tzinfo | None = None) -> IngestResult:
    """Record new orders and move existing ones forward, then fire ``ORDER_RECORDED``.

    Status only moves forward (``models.commerce.can_transition``); each ``<status>_at`` is set
    the first time the order reaches that status (the time sent, else now). A refund equal to
    the amount makes the order ``refunded``; a smaller one only raises ``refund_amount``.
    Amount and items may change while the recorded order is still unpaid (改价); after that
    they are fixed. Subscribers (retagging, commission) get the created and changed orders.
    """
    batch = _Batch(rows, v.check_order, "external_id", tz)
    customers = _ids_by(session, Customer.external_id, batch.keys("customer"), Customer.id)
    stores = _ids_by(session, Store.external_id, batch.keys("store"), Store.id)
    clerks = _clerk_ids(session, batch.keys("clerk"))
    skus = {sku for _, values in batch.valid for sku, _, _ in values["items"]}
    products = _ids_by(session, Product.sku, skus, Product.id)
    existing = _existing(session, Order, Order.external_id, batch.keys(), _ORDER_COLUMNS)
    current_items = _items_of(session, [o["id"] for o in existing.values() if o["status"] == "created"])

    now = utcnow()
    inserts: list[dict[str, Any]] = []
    new_items: dict[str, list[tuple[int, int, int]]] = {}
    updates: list[dict[str, Any]] = []
    replaced_items: dict[int, list[tuple[int, int, int]]] = {}
    touched_customers: set[int] = set()
    for index, values in batch.valid:
        errors: dict[str, str] = {}
        cols = _order_refs(values, customers, stores, clerks, errors)
        items = []
        for i, (sku, quantity, price) in enumerate(values["items"]):
            if sku not in products:
                errors[f"items[{i}].sku"] = t("ingest.unknown_sku")
            else:
                items.append((products[sku], quantity, price))
        current = existing.get(values["external_id"])
        wanted = None if errors else _next_state(current, values, cols, now, errors)
        if errors:
            batch.reject(index, values["external_id"], errors)
            continue
        batch.result.accepted += 1
        if current is None:
            row = {c: wanted.get(c) for c in _ORDER_COLUMNS}
            row["updated_at"] = now
            inserts.append(row)
            new_items[values["external_id"]] = items
            touched_customers.add(wanted["customer_id"])
            continue
        changed = _diff(current, wanted)
        if current["status"] == "created" and sorted(current_items.get(current["id"], [])) != sorted(items):
            replaced_items[current["id"]] = items
        if changed or current["id"] in replaced_items:
            updates.append({"id": current["id"], **changed})
            touched_customers.add(current["customer_id"])

    bulk_insert(session, Order.__table__, [*_ORDER_COLUMNS, "updated_at"], inserts)
    order_ids = _ids_by(session, Order.external_id, new_items, Order.id)
    item_rows = [{"order_id": order_ids[ext], "product_id": p, "quantity": q, "price_fen": price}
                 for ext, lines in new_items.items() for p, q, price in lines]
    if replaced_items:
        session.execute(delete(OrderItem).where(OrderItem.order_id.in_(list(replaced_items))))
        item_rows += [{"order_id": oid, "product_id": p, "quantity": q, "price_fen": price}
                      for oid, lines in replaced_items.items() for p, q, price in lines]
    bulk_insert(session, OrderItem.__table__, ["order_id", "product_id", "quantity", "price_fen"], item_rows)
    _update_rows(session, Order, [u for u in updates if len(u) > 1])
    # An order whose only change was its items still counts as changed for updated_at.
    _update_rows(session, Order, [{"id": u["id"], "updated_at": now} for u in updates if len(u) == 1])
    batch.result.created += len(inserts)
    batch.result.updated += len(updates)
    recorded = [*order_ids.values(), *(u["id"] for u in updates)]
    if recorded:
        hooks.fire(session, hooks.ORDER_RECORDED, order_ids=recorded, customer_ids=sorted(touched_customers))
    return batch.finish()


def _items_of(session: Session, order_ids: list[int]) -> dict[int, list[tuple[int, int, int]]]:
    found: dict[int, list[tuple[int, int, int]]] = {}
    if not order_ids:
        return found
    rows = session.execute(select(OrderItem.order_id, OrderItem.product_id, OrderItem.quantity, OrderItem.price_fen)
                           .where(OrderItem.order_id.in_(order_ids)))
    for order_id, product_id, quantity, price in rows:
        found.setdefault(order_id, []).append((product_id, quantity, price))
    return found


def _order_refs(values: dict[str, Any], customers: dict[str, int], stores: dict[str, int],
                clerks: dict[str, int], errors: dict[str, str]) -> dict[str, Any]:
    cols = {_ORDER_FIELD_COLUMNS[name]: val for name, val in values.items() if name in _ORDER_FIELD_COLUMNS}
    cols["customer_id"] = customers.get(values["customer"])
    if cols["customer_id"] is None:
        errors["customer"] = t("ingest.unknown_customer")
    for name, ids, key in (("store", stores, "unknown_store"), ("clerk", clerks, "unknown_clerk")):
        if name in values:
            ref = values[name]
            cols[f"{name}_id"] = None if ref is None else ids.get(ref)
            if ref is not None and cols[f"{name}_id"] is None:
                errors[name] = t(f"ingest.{key}")
    return cols


def _next_state(current: dict[str, Any] | None, values: dict[str, Any], cols: dict[str, Any],
                now: dt.datetime, errors: dict[str, str]) -> dict[str, Any]:
    """The order's columns after this event, or errors saying why it cannot happen."""
    state = dict(current or {"store_id": None, "clerk_id": None, "refund_amount_fen": 0})
    given_times = {c: cols[c] for c in STATUS_TIME.values() if cols.get(c) is not None}
    amount = cols["amount_fen"]
    status = cols["status"]
    given_refund = cols.get("refund_amount_fen")
    # A refund of the whole amount is a refund, whatever status the sender still shows; deciding
    # this before the transition check keeps re-sending the same event idempotent.
    if given_refund and given_refund == amount and status not in UNPAID:
        status = "refunded"
    if given_refund is not None:
        refund = given_refund
    else:
        refund = amount if status == "refunded" else state["refund_amount_fen"]
    if current is not None:
        if cols["customer_id"] != current["customer_id"]:
            errors["customer"] = t("ingest.order_customer_changed")
        if amount != current["amount_fen"] and current["status"] != "created":
            errors["amount"] = t("ingest.amount_fixed")
        if not can_transition(current["status"], status):
            field = "status" if status == cols["status"] else "refund_amount"
            errors[field] = t("ingest.backward_status", current=current["status"], new=status)
    if refund < state["refund_amount_fen"]:
        errors["refund_amount"] = t("ingest.refund_decreased", recorded=yuan(state["refund_amount_fen"]))
    if refund > amount:
        errors["refund_amount"] = t("ingest.refund_above_amount")
    if refund and status in UNPAID:
        errors["refund_amount"] = t("ingest.refund_unpaid")
    if errors:
        return state
    state.update({k: cols[k] for k in ("external_id", "customer_id", "amount_fen", "created_at")})
    for ref in ("store_id", "clerk_id"):
        if ref in cols:
            state[ref] = cols[ref]
    if current is not None:
        state["created_at"] = current["created_at"]  # when the order was placed does not move
    state["status"] = status
    state["refund_amount_fen"] = refund
    for column, when in given_times.items():
        if state.get(column) is None:
            state[column] = when
    reached = STATUS_TIME.get(status)
    if reached and state.get(reached) is None:
        state[reached] = now
    return state


