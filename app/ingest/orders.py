"""Recording orders: new ones and status changes, by external id, with their coupon redeemed.

Status only moves forward (``models.commerce.can_transition``). An order may carry ``ref`` (the
personal link it came through, stored as given) and ``coupon_code``: the first time an order shows
a code, the coupon is checked and claimed in this same transaction (``app.coupons.redeem``); an
order whose coupon is refused is rejected with ``fields.coupon_code`` naming the reason, and
nothing of it is written. Re-sending the order with the same code is not a second use. A
cancelled order gives its coupon back; a refunded one only when the template says so.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app import hooks
from app.coupons.redeem import Redemptions, return_coupons
from app.db import bulk_insert
from app.i18n import t
from app.ingest import validate as v
from app.ingest.batch import Batch, IngestResult, diff, existing_rows, find_clerk_ids, ids_by, update_rows
from app.ingest.order_checks import check_order
from models import Customer, Order, OrderItem, Product, Store, can_transition, utcnow
from models.money import yuan

STATUS_TIME = {"paid": "paid_at", "shipped": "shipped_at", "delivered": "delivered_at",
               "completed": "completed_at", "cancelled": "cancelled_at", "refunded": "refunded_at"}
UNPAID = frozenset({"created", "cancelled"})
# Field → column for the order fields stored as they are (``v.columns`` without the lookups).
_ORDER_FIELD_COLUMNS = {name: column for name, (column, *_rest) in v.ORDER.items() if column}
_ORDER_COLUMNS = ["external_id", "customer_id", "store_id", "clerk_id", "status", "amount_fen",
                  "refund_amount_fen", "created_at", *STATUS_TIME.values(), "ref", "coupon_code"]
Lines = list[tuple[int, int, int]]  # (product id, quantity, unit price in fen)


@dataclass
class _Writes:
    """What one batch will write, decided order by order before anything is written."""

    now: dt.datetime
    inserts: list[dict[str, Any]] = field(default_factory=list)
    new_items: dict[str, Lines] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    replaced_items: dict[int, Lines] = field(default_factory=dict)
    touched_customers: set[int] = field(default_factory=set)
    ended: list[str] = field(default_factory=list)  # cancelled or refunded: coupons may go back


def record_orders(session: Session, rows: Sequence[Any], tz: dt.tzinfo | None = None) -> IngestResult:
    """Record new orders and move existing ones forward, then fire ``ORDER_RECORDED``.

    Each ``<status>_at`` is set the first time the order reaches that status (the time sent,
    else now). A refund equal to the amount makes the order ``refunded``; a smaller one only
    raises ``refund_amount``. Amount and items may change while the recorded order is still
    unpaid (改价); after that they are fixed. Subscribers (retagging, commission) get the created
    and changed orders.
    """
    batch = Batch(rows, check_order, "external_id", tz)
    customers = ids_by(session, Customer.external_id, batch.keys("customer"), Customer.id)
    stores = ids_by(session, Store.external_id, batch.keys("store"), Store.id)
    clerks = find_clerk_ids(session, batch.keys("clerk"))
    skus = {sku for _, values in batch.valid for sku, _, _ in values["items"]}
    products = ids_by(session, Product.sku, skus, Product.id)
    existing = existing_rows(session, Order, Order.external_id, batch.keys(), _ORDER_COLUMNS)
    current_items = _items_of(session, [o["id"] for o in existing.values() if o["status"] == "created"])
    writes = _Writes(utcnow())
    coupons = Redemptions(session, batch.keys("coupon_code"),
                          {products[sku] for _, vals in batch.valid if vals.get("coupon_code")
                           for sku, _, _ in vals["items"] if sku in products}, writes.now)
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
        wanted = None if errors else _next_state(current, values, cols, writes.now, errors)
        if not errors:
            _redeem(coupons, current, wanted, items, errors)
        if errors:
            batch.reject(index, values["external_id"], errors)
            continue
        batch.result.accepted += 1
        _plan(writes, current, wanted, items, current_items)
    order_ids = _write(session, batch, writes)
    coupons.link({**{ext: o["id"] for ext, o in existing.items()}, **order_ids})
    ended = [order_ids.get(ext) or existing[ext]["id"] for ext in writes.ended]
    if ended:
        return_coupons(session, ended)
    recorded = [*order_ids.values(), *(u["id"] for u in writes.updates)]
    if recorded:
        hooks.fire(session, hooks.ORDER_RECORDED, order_ids=recorded, customer_ids=sorted(writes.touched_customers))
    return batch.finish()


def _redeem(coupons: Redemptions, current: dict[str, Any] | None, wanted: dict[str, Any], items: Lines,
            errors: dict[str, str]) -> None:
    """Claim the order's coupon the first time the order shows it (never for a cancelled order)."""
    code = wanted.get("coupon_code")
    if not code or (current is not None and current.get("coupon_code") == code) or wanted["status"] == "cancelled":
        return
    reason = coupons.claim(wanted["external_id"], code, wanted["customer_id"], wanted["created_at"], items)
    if reason:
        errors["coupon_code"] = reason


def _plan(writes: _Writes, current: dict[str, Any] | None, wanted: dict[str, Any], items: Lines,
          current_items: dict[int, Lines]) -> None:
    if wanted["status"] in ("cancelled", "refunded") and wanted.get("coupon_code"):
        writes.ended.append(wanted["external_id"])
    if current is None:
        row = {c: wanted.get(c) for c in _ORDER_COLUMNS}
        row["updated_at"] = writes.now
        writes.inserts.append(row)
        writes.new_items[wanted["external_id"]] = items
        writes.touched_customers.add(wanted["customer_id"])
        return
    changed = diff(current, wanted)
    if current["status"] == "created" and sorted(current_items.get(current["id"], [])) != sorted(items):
        writes.replaced_items[current["id"]] = items
    if changed or current["id"] in writes.replaced_items:
        writes.updates.append({"id": current["id"], **changed})
        writes.touched_customers.add(current["customer_id"])


def _write(session: Session, batch: Batch, writes: _Writes) -> dict[str, int]:
    """Insert the new orders and their items, update the changed ones; return the new ids."""
    now = writes.now
    bulk_insert(session, Order.__table__, [*_ORDER_COLUMNS, "updated_at"], writes.inserts)
    order_ids = ids_by(session, Order.external_id, writes.new_items, Order.id)
    item_rows = [{"order_id": order_ids[ext], "product_id": p, "quantity": q, "price_fen": price}
                 for ext, lines in writes.new_items.items() for p, q, price in lines]
    if writes.replaced_items:
        session.execute(delete(OrderItem).where(OrderItem.order_id.in_(list(writes.replaced_items))))
        item_rows += [{"order_id": oid, "product_id": p, "quantity": q, "price_fen": price}
                      for oid, lines in writes.replaced_items.items() for p, q, price in lines]
    bulk_insert(session, OrderItem.__table__, ["order_id", "product_id", "quantity", "price_fen"], item_rows)
    update_rows(session, Order, [u for u in writes.updates if len(u) > 1])
    # An order whose only change was its items still counts as changed for updated_at.
    update_rows(session, Order, [{"id": u["id"], "updated_at": now} for u in writes.updates if len(u) == 1])
    batch.result.created += len(writes.inserts)
    batch.result.updated += len(writes.updates)
    return order_ids


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
    state = dict(current or {"store_id": None, "clerk_id": None, "refund_amount_fen": 0, "ref": None,
                             "coupon_code": None})
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
    code = cols.get("coupon_code") or state["coupon_code"]
    if state["coupon_code"] and code != state["coupon_code"]:
        errors["coupon_code"] = t("coupons.redeem.fixed")
    if errors:
        return state
    state.update({k: cols[k] for k in ("external_id", "customer_id", "amount_fen", "created_at")})
    for ref in ("store_id", "clerk_id", "ref"):
        if ref in cols:
            state[ref] = cols[ref]
    state["coupon_code"] = code
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
