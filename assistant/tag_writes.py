"""Writing tags: replace customers' automatic tags and derived columns, manual tags untouched.

``write_few`` goes through the ORM inside the event's transaction (loaded objects stay in step);
``write_bulk`` replaces everyone's set-based, with ``COPY`` on PostgreSQL and ``executemany`` on
SQLite. A rule's tag that the clerk already set by hand is not written: the manual one stays.
"""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from assistant.tag_facts import Progress, TagResult, records_frame, scoped
from assistant.tag_vocabulary import tag_meta
from models import Customer, CustomerTag, Stage, Tag, TagSource, utcnow


def ensure_tags(session: Session, names: Sequence[str]) -> dict[str, int]:
    """Tag ids by name, creating the automatic tags that do not exist yet (one insert)."""
    wanted = sorted(set(names))
    existing = dict(session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(wanted))).all()) if len(wanted) < 900 \
        else dict(session.execute(select(Tag.name, Tag.id)).all())
    missing = [n for n in wanted if n not in existing]
    if missing:
        rows = []
        for n in missing:
            group, zh, en = tag_meta(n)
            rows.append({"name": n, "source": TagSource.auto, "group": group, "label_zh": zh, "label_en": en})
        session.execute(insert(Tag), rows)
        existing.update(session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(missing))).all())
    return {n: existing[n] for n in wanted}


def _rows_to_write(session: Session, result: TagResult, customer_ids: Sequence[int] | None) -> pd.DataFrame:
    tags = result.tags
    ids = ensure_tags(session, tags["name"].unique().tolist())
    tags = tags.assign(tag_id=tags["name"].map(ids).astype("int64"))
    manual = records_frame(session.execute(scoped(
        select(CustomerTag.customer_id, CustomerTag.tag_id).where(CustomerTag.source == TagSource.manual),
        CustomerTag.customer_id, customer_ids)).all(), ["customer_id", "tag_id"])
    if not manual.empty:
        keys = pd.MultiIndex.from_frame(tags[["customer_id", "tag_id"]])
        taken = pd.MultiIndex.from_frame(manual.astype("int64"))
        tags = tags[~keys.isin(taken)]
    return tags


def write_few(session: Session, result: TagResult, customer_ids: Sequence[int]) -> None:
    """Replace the automatic tags of a few customers through the ORM (inside the event's
    transaction, so loaded objects stay in step)."""
    rows = list(result.tags.itertuples(index=False))
    ids = ensure_tags(session, [r.name for r in rows])
    manual = set(session.execute(select(CustomerTag.customer_id, CustomerTag.tag_id).where(
        CustomerTag.customer_id.in_(list(customer_ids)), CustomerTag.source == TagSource.manual)).all())
    manual = {(int(a), int(b)) for a, b in manual}
    session.execute(delete(CustomerTag).where(CustomerTag.customer_id.in_(list(customer_ids)),
                                              CustomerTag.source == TagSource.auto))
    now = utcnow()
    session.add_all(CustomerTag(customer_id=int(r.customer_id), tag_id=ids[r.name], source=TagSource.auto,
                                reason=r.reason[:255], created_at=now)
                    for r in rows if (int(r.customer_id), ids[r.name]) not in manual)
    # One query loads them all; the loop below then finds each in the identity map.
    session.scalars(select(Customer).where(Customer.id.in_(list(customer_ids)))).all()
    for cid, stage, paid, spent, first_paid, last_paid in result.derived.itertuples():
        customer = session.get(Customer, int(cid))
        customer.stage = Stage(stage)
        customer.paid_orders = int(paid)
        customer.total_spent_fen = int(spent)
        customer.first_paid_at = None if pd.isna(first_paid) else pd.Timestamp(first_paid).to_pydatetime()
        customer.last_paid_at = None if pd.isna(last_paid) else pd.Timestamp(last_paid).to_pydatetime()
        session.expire(customer, ["tags"])
    session.flush()


def _sqlite_time(series: pd.Series) -> list:
    # Same text form SQLAlchemy's SQLite DateTime writes, so comparisons in SQL stay right.
    text = series.dt.tz_convert("UTC").dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    return [None if pd.isna(v) else v for v in text]


def write_bulk(session: Session, result: TagResult, progress: Progress | None = None,
               batch: int = 50_000) -> None:
    """Replace every customer's automatic tags and derived columns, set-based."""
    step = progress or (lambda _name: None)
    tags = _rows_to_write(session, result, None)
    conn = session.connection()
    session.execute(delete(CustomerTag).where(CustomerTag.source == TagSource.auto))
    if conn.dialect.name == "postgresql":
        _copy_postgresql(conn.connection.driver_connection, tags, result.derived, step)
    else:
        _insert_sqlite(conn.connection.driver_connection, tags, result.derived, step, batch)
    step("customers written")


def _copy_postgresql(raw, tags: pd.DataFrame, derived: pd.DataFrame, step: Progress) -> None:
    now = utcnow()
    with raw.cursor() as cur:
        with cur.copy("COPY customer_tags (customer_id, tag_id, source, reason, created_at) FROM STDIN") as copy:
            for r in zip(tags["customer_id"].tolist(), tags["tag_id"].tolist(), tags["reason"].str.slice(0, 255).tolist()):
                copy.write_row((r[0], r[1], "auto", r[2], now))
        step("tags written")
        cur.execute("CREATE TEMP TABLE retag_derived (id bigint, stage varchar(16), paid_orders int, "
                    "total_spent_fen bigint, first_paid_at timestamptz, last_paid_at timestamptz) ON COMMIT DROP")
        with cur.copy("COPY retag_derived FROM STDIN") as copy:
            for row in zip(derived.index.tolist(), derived["stage"].tolist(), derived["paid_orders"].tolist(),
                           derived["total_spent_fen"].tolist(), _py_times(derived["first_paid_at"]),
                           _py_times(derived["last_paid_at"])):
                copy.write_row(row)
        cur.execute("UPDATE customers c SET stage = d.stage, paid_orders = d.paid_orders, "
                    "total_spent_fen = d.total_spent_fen, first_paid_at = d.first_paid_at, "
                    "last_paid_at = d.last_paid_at FROM retag_derived d WHERE c.id = d.id AND "
                    "(c.stage IS DISTINCT FROM d.stage OR c.paid_orders <> d.paid_orders OR "
                    "c.total_spent_fen <> d.total_spent_fen OR c.first_paid_at IS DISTINCT FROM d.first_paid_at "
                    "OR c.last_paid_at IS DISTINCT FROM d.last_paid_at)")


def _insert_sqlite(raw, tags: pd.DataFrame, derived: pd.DataFrame, step: Progress, batch: int) -> None:
    cur = raw.cursor()
    created = utcnow().replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    rows = list(zip(tags["customer_id"].tolist(), tags["tag_id"].tolist(), tags["reason"].str.slice(0, 255).tolist()))
    for start in range(0, len(rows), batch):
        cur.executemany("INSERT INTO customer_tags (customer_id, tag_id, source, reason, created_at) "
                        f"VALUES (?, ?, 'auto', ?, '{created}')", rows[start:start + batch])
    step("tags written")
    updates = list(zip(derived["stage"].tolist(), derived["paid_orders"].tolist(),
                       derived["total_spent_fen"].tolist(), _sqlite_time(derived["first_paid_at"]),
                       _sqlite_time(derived["last_paid_at"]), derived.index.tolist()))
    cur.execute("CREATE TEMP TABLE IF NOT EXISTS retag_derived (stage TEXT, paid_orders INT, total_spent_fen INT, "
                "first_paid_at TEXT, last_paid_at TEXT, id INTEGER PRIMARY KEY)")
    cur.execute("DELETE FROM retag_derived")
    cur.executemany("INSERT INTO retag_derived VALUES (?, ?, ?, ?, ?, ?)", updates)
    cur.execute("UPDATE customers SET stage = d.stage, paid_orders = d.paid_orders, "
                "total_spent_fen = d.total_spent_fen, first_paid_at = d.first_paid_at, "
                "last_paid_at = d.last_paid_at FROM retag_derived d WHERE customers.id = d.id AND "
                "(customers.stage IS NOT d.stage OR customers.paid_orders <> d.paid_orders OR "
                "customers.total_spent_fen <> d.total_spent_fen OR customers.first_paid_at IS NOT d.first_paid_at "
                "OR customers.last_paid_at IS NOT d.last_paid_at)")
    cur.execute("DELETE FROM retag_derived")
    cur.close()


def _py_times(series: pd.Series) -> list:
    return [None if pd.isna(v) else v.to_pydatetime() for v in series]
