"""Ingestion actions: bulk upsert of stores, products and customers, and recording orders.

Every action takes a session already in a transaction and a list of plain objects (decoded JSON
or CSV rows mapped to the same shape), and returns an ``IngestResult``. The work is set-based:

1. check every object in Python (``validate``), naming each bad field;
2. resolve every external id the batch refers to with one query per kind;
3. write new rows with one multi-row INSERT per table and changed rows with one executemany
   UPDATE, leaving unchanged rows alone (so re-posting the same payload writes nothing and no
   ``updated_at`` moves).

Rejected objects are named and skipped; the valid ones land together with the caller's commit,
so nothing is ever half-written. The API and ``flask import`` call these same functions. Orders
live in ``app.ingest.orders``; the shared batch machinery in ``app.ingest.batch``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app import hooks
from app.i18n import t
from app.ingest import validate as v
from app.ingest.batch import (Batch, IngestResult, Rejection, diff, find_clerk_ids, existing_rows, ids_by,
                              insert_returning_ids, update_rows)
from app.ingest.orders import record_orders
from models import ChannelIdentity, Customer, FollowerBinding, Product, Store, utcnow

__all__ = ["IngestResult", "Rejection", "record_orders", "upsert_customers", "upsert_products", "upsert_stores"]

DEFAULT_FOLLOW_CHANNEL = v.IN_STORE


def _upsert_simple(session: Session, batch: Batch, model, key: str, spec: v.Spec,
                   defaults: dict[str, Any], resolve=None) -> tuple[dict[str, int], list[int]]:
    """Insert new and update changed rows of a table keyed by ``key``; return (new ids, changed ids)."""
    wanted_cols = [spec[name][0] for name in spec if spec[name][0]] + list(defaults)
    wanted_cols = list(dict.fromkeys(wanted_cols))
    existing = existing_rows(session, model, model.__table__.c[key], batch.keys(), wanted_cols)
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
            changed = diff(current, cols)
            if changed:
                updates.append({"id": current["id"], **changed})
    new_ids = insert_returning_ids(session, model, key, inserts)
    update_rows(session, model, updates)
    batch.result.created += len(inserts)
    batch.result.updated += len(updates)
    return new_ids, [u["id"] for u in updates]


# Stores and products ------------------------------------------------------------------------

def upsert_stores(session: Session, rows: Sequence[Any], tz: dt.tzinfo | None = None) -> IngestResult:
    """Create or update stores by ``external_id``."""
    batch = Batch(rows, v.check_store, "external_id", tz)
    _upsert_simple(session, batch, Store, "external_id", v.STORE,
                   {"city": None, "province": None, "timezone": None})
    return batch.finish()


def upsert_products(session: Session, rows: Sequence[Any], tz: dt.tzinfo | None = None) -> IngestResult:
    """Create or update products by ``sku`` (the product's external id)."""
    batch = Batch(rows, v.check_product, "sku", tz)
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
    batch = Batch(rows, v.check_customer, "external_id", tz)
    store_ids = ids_by(session, Store.external_id, batch.keys("store"), Store.id)
    clerk_ids = find_clerk_ids(session, batch.keys("clerk"))
    identity_owner = _identity_owners(session, batch)
    customer_ids = ids_by(session, Customer.external_id, batch.keys(), Customer.id)
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


def _identity_owners(session: Session, batch: Batch) -> dict[tuple[str, str, str], int]:
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
    update_rows(session, FollowerBinding, demote)
    update_rows(session, FollowerBinding, promote)
    if inserts:
        session.execute(insert(FollowerBinding.__table__), inserts)
    for customer_id, clerk_id in changed:
        hooks.fire(session, hooks.FOLLOWER_CHANGED, customer_id=customer_id, clerk_id=clerk_id)
