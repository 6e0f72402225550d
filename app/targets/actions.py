"""Setting targets: ``PUT /api/v1/targets`` (JSON or CSV) in one transaction.

Every entry is checked before anything is written; a bad or out-of-scope entry is named
(``targets[2].amount``) and nothing lands. Setting the value a target already has changes nothing,
so the same request twice is harmless; a new value supersedes the current row and keeps it.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.params import valid_period
from app.errors import Forbidden, Invalid
from app.i18n import t
from models import Role, SalesTarget, Staff, Store, utcnow
from models.money import parse_yuan

MAX_ENTRIES = 5000
MAX_COUNT = 1_000_000
COUNTS = ("new_customers", "reactivations")
CSV_COLUMNS = ("clerk", "store", "amount", *COUNTS)


@dataclass(frozen=True)
class Wanted:
    """One validated entry: whose target, and its values."""

    clerk_id: int | None
    store_id: int | None
    amount_fen: int
    new_customers: int | None
    reactivations: int | None

    def same_as(self, row: SalesTarget) -> bool:
        return (row.amount_fen, row.new_customers, row.reactivations) == \
            (self.amount_fen, self.new_customers, self.reactivations)


def entries_from_csv(text: str) -> list[dict[str, str]]:
    """CSV lines (header ``clerk`` or ``store``, ``amount``, optional counts) as PUT entries."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = {(h or "").strip() for h in reader.fieldnames or ()}
    if "amount" not in header or not header & {"clerk", "store"}:
        raise Invalid(t("targets.error.invalid"), {"targets": t("targets.error.csv")})
    return [{k.strip(): v.strip() for k, v in row.items() if k and k.strip() in CSV_COLUMNS and v and v.strip()}
            for row in reader]


def _count(value: Any) -> int | None | str:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        return "bad"
    return value


def _key(value: Any) -> str | None:
    """A clerk or store as the entry names it (a text, or a number for a numeric external id)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value).strip() or None


def _subjects(session: Session, entries: list[Any]) -> tuple[dict[str, Staff], dict[str, list[Store]]]:
    """The clerks and stores the entries name: clerks by username or external id, stores by
    external id or name."""
    clerk_keys = {_key(e.get("clerk")) for e in entries if isinstance(e, dict)} - {None}
    store_keys = {_key(e.get("store")) for e in entries if isinstance(e, dict)} - {None}
    clerks: dict[str, Staff] = {}
    if clerk_keys:
        for person in session.scalars(select(Staff).where(
                Staff.role == Role.clerk, or_(Staff.username.in_(clerk_keys), Staff.external_id.in_(clerk_keys)))):
            for key in (person.external_id, person.username):  # the username wins a clash
                if key in clerk_keys:
                    clerks[key] = person
    stores: dict[str, list[Store]] = {}
    if store_keys:
        found = list(session.scalars(select(Store).where(or_(Store.external_id.in_(store_keys),
                                                             Store.name.in_(store_keys)))))
        for key in store_keys:
            by_id = [st for st in found if st.external_id == key]
            stores[key] = by_id or [st for st in found if st.name == key]
    return clerks, stores


def validate(session: Session, actor: Staff, body: Any) -> tuple[str, list[Wanted]]:
    """The period and the entries, resolved and in the actor's scope; or Invalid / Forbidden
    naming every bad entry."""
    if not isinstance(body, dict):
        raise Invalid(t("targets.error.invalid"), {"": t("targets.error.body")})
    fields: dict[str, str] = {}
    out_of_scope: set[str] = set()
    period = body.get("period")
    if not valid_period(period):
        fields["period"] = t("targets.error.period")
    entries = body.get("targets")
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_ENTRIES:
        fields["targets"] = t("targets.error.list", n=MAX_ENTRIES)
        raise Invalid(t("targets.error.invalid"), fields)
    clerks, stores = _subjects(session, entries)
    wanted: list[Wanted] = []
    seen: set[tuple[str, int]] = set()
    for i, entry in enumerate(entries):
        at = f"targets[{i}]"
        if not isinstance(entry, dict) or (entry.get("clerk") is None) == (entry.get("store") is None):
            fields[at] = t("targets.error.subject")
            continue
        amount = parse_yuan(entry.get("amount"), negative=False)
        if amount is None:
            fields[f"{at}.amount"] = t("targets.error.amount")
        counts = {name: _count(entry.get(name)) for name in COUNTS}
        for name, value in counts.items():
            if value == "bad":
                fields[f"{at}.{name}"] = t("targets.error.count", n=MAX_COUNT)
        clerk_id = store_id = None
        if entry.get("clerk") is not None:
            person = clerks.get(_key(entry["clerk"]) or "")
            if person is None:
                fields[f"{at}.clerk"] = t("targets.error.no_clerk")
            elif actor.role != Role.hq and person.store_id != actor.store_id:
                fields[f"{at}.clerk"] = t("targets.error.other_clerk")
                out_of_scope.add(f"{at}.clerk")
            else:
                clerk_id = person.id
        else:
            found = stores.get(_key(entry["store"]) or "", [])
            if len(found) != 1:
                fields[f"{at}.store"] = t("targets.error.ambiguous_store" if found else "targets.error.no_store")
            elif actor.role != Role.hq and found[0].id != actor.store_id:
                fields[f"{at}.store"] = t("targets.error.other_store")
                out_of_scope.add(f"{at}.store")
            else:
                store_id = found[0].id
        subject = ("clerk", clerk_id) if clerk_id is not None else ("store", store_id)
        if subject[1] is not None:
            if subject in seen:
                fields[at] = t("targets.error.duplicate")
            seen.add(subject)
        if at not in fields and subject[1] is not None and amount is not None and "bad" not in counts.values():
            wanted.append(Wanted(clerk_id, store_id, amount, counts["new_customers"], counts["reactivations"]))
    if fields:
        if set(fields) <= out_of_scope:
            raise Forbidden(t("targets.error.forbidden"), fields)
        raise Invalid(t("targets.error.invalid"), fields)
    return period, wanted


def set_targets(session: Session, actor: Staff | None, period: str, wanted: list[Wanted],
                now: dt.datetime | None = None) -> int:
    """Write the entries that differ from the month's current targets; return how many changed."""
    now = now or utcnow()
    current = {(row.clerk_id, row.store_id): row for row in session.scalars(select(SalesTarget).where(
        SalesTarget.period == period, SalesTarget.superseded_at.is_(None),
        or_(SalesTarget.clerk_id.in_([w.clerk_id for w in wanted if w.clerk_id is not None]),
            SalesTarget.store_id.in_([w.store_id for w in wanted if w.store_id is not None]))))}
    changed = [w for w in wanted if not (current.get((w.clerk_id, w.store_id)) and
                                         w.same_as(current[(w.clerk_id, w.store_id)]))]
    for w in changed:
        if (w.clerk_id, w.store_id) in current:
            current[(w.clerk_id, w.store_id)].superseded_at = now
    session.flush()  # the old rows step aside before the new ones take the "current" place
    session.add_all(SalesTarget(period=period, clerk_id=w.clerk_id, store_id=w.store_id, amount_fen=w.amount_fen,
                                new_customers=w.new_customers, reactivations=w.reactivations,
                                set_by=actor.id if actor is not None else None, set_at=now) for w in changed)
    session.flush()
    return len(changed)
