"""Engine, sessions, migrations, and the one home of bulk writes and bind-limit chunking.

Request code reads through ``session()`` (one per request) and writes through
``transaction()``: one transaction per action, committed or rolled back as a whole. Callbacks
registered with ``after_commit(session, fn)`` run only once the commit has succeeded — that is how
realtime events and jobs leave (never for work that was rolled back). ``chunks()`` keeps IN lists
under SQLite's bound-variable limit; ``bulk_insert()`` and ``bulk_insert_ignoring_duplicates()``
write many rows straight through the driver (COPY on PostgreSQL, executemany on SQLite).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g
from sqlalchemy import JSON, create_engine, event, func, insert, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from models import clock
from models.base import UTCDateTime

_POST_COMMIT = "daogou.post_commit"
WRITE_OPTION = "daogou_write"
# IN lists stay under SQLite's bound-variable limit (999 before 3.32) and keep PostgreSQL plans small.
BIND_LIMIT = 900
T = TypeVar("T")


def chunks(items: Sequence[T], size: int = BIND_LIMIT) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``: IN lists under the bind limit, batches."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str, **engine_options: Any) -> None:
        self.url = url
        if url.startswith("sqlite"):
            self.engine = _sqlite_engine(url, **engine_options)
        else:
            engine_options.setdefault("pool_pre_ping", True)
            engine_options.setdefault("pool_size", 10)
            engine_options.setdefault("max_overflow", 20)
            self.engine = create_engine(url, **engine_options)
        self.Session = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        with self.Session() as s:
            with s.begin():
                s.connection(execution_options={WRITE_OPTION: True})
                yield s

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_engine(url: str, **options: Any) -> Engine:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    options.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below) so that a write transaction takes the lock up front
        # (BEGIN IMMEDIATE) instead of failing with "database is locked" when a deferred read
        # upgrades to a write; plain reads stay deferred so they never block writers under WAL.
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


@event.listens_for(Session, "after_commit")
def _run_post_commit(session: Session) -> None:
    savepoint = session.get_nested_transaction()
    if savepoint is not None:
        # SQLAlchemy signals a released SAVEPOINT as a commit too: its callbacks now belong to
        # the enclosing transaction and wait for the outermost commit.
        parent = savepoint.parent if savepoint.parent is not None and savepoint.parent.nested else None
        session.info[_POST_COMMIT] = [(parent if sp is savepoint else sp, fn)
                                      for sp, fn in session.info.get(_POST_COMMIT, [])]
        return
    for _savepoint, fn in session.info.pop(_POST_COMMIT, []):
        fn()


@event.listens_for(Session, "after_rollback")
def _drop_post_commit(session: Session) -> None:
    savepoint = session.get_nested_transaction()
    if savepoint is None:
        session.info.pop(_POST_COMMIT, None)
        return
    # A rolled-back SAVEPOINT drops only what was registered inside it.
    session.info[_POST_COMMIT] = [(sp, fn) for sp, fn in session.info.get(_POST_COMMIT, [])
                                  if sp is not savepoint]


def after_commit(session: Session, fn: Callable[[], Any]) -> None:
    """Run ``fn`` once the session's outermost transaction commits; never if it rolls back."""
    session.info.setdefault(_POST_COMMIT, []).append((session.get_nested_transaction(), fn))


def init_app(app: Flask) -> None:
    app.extensions["daogou.db"] = Database(app.config["DATABASE_URL"])
    app.teardown_appcontext(_close_request_session)


def get_db(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["daogou.db"]


def session() -> Session:
    """The request's session, for reads (and writes through ``transaction`` when needed)."""
    if "db_session" not in g:
        g.db_session = get_db().Session()
    return g.db_session


@contextlib.contextmanager
def transaction() -> Iterator[Session]:
    """A fresh session in one transaction (see ``Database.transaction``).

    Afterwards the request's read session ends its own transaction, so that reads later in the
    same request see what was just written (SQLite keeps a snapshot for an open read).
    """
    with get_db().transaction() as s:
        yield s
    if "db_session" in g:
        g.db_session.commit()


def _close_request_session(_exc: BaseException | None) -> None:
    s = g.pop("db_session", None)
    if s is not None:
        s.close()


def alembic_config(database: Database) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).resolve().parent.parent / "models" / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    return cfg


def upgrade(database: Database) -> list[str]:
    """Bring the database, empty or old, to the latest revision(s); return the heads reached."""
    from alembic import command
    from alembic.script import ScriptDirectory

    cfg = alembic_config(database)
    with database.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
    return sorted(ScriptDirectory.from_config(cfg).get_heads())


def is_initialised(database: Database) -> bool:
    """Has ``flask init-db`` run on this database (is there an Alembic revision)?"""
    from sqlalchemy import inspect

    with database.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        return conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() > 0


def ping(database: Database) -> None:
    with database.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


# Bulk writes: straight to the driver, dialect by dialect ------------------------------------

def bulk_insert(session: Session, table, columns: list[str], rows: list[dict[str, Any]]) -> None:
    """Insert many rows straight through the driver: COPY on PostgreSQL, executemany on SQLite.

    This is the hot path of order imports, where SQLAlchemy's per-row statement bookkeeping
    costs more than the database. Values still pass through each column type's bind processor
    (UTC datetimes, enums), so the stored form is exactly what the ORM writes and reads back.
    Python-side column defaults are *not* applied: ``columns`` must name every value needed.
    """
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    if dialect.name == "postgresql":
        order = list(columns)
        sql = None
    else:
        compiled = insert(table).compile(dialect=dialect, column_keys=columns)
        order, sql = list(compiled.positiontup), str(compiled)
    # Column by column: one tight comprehension per column beats a generator per row.
    values = []
    for c in order:
        column = [row[c] for row in rows]
        process = table.c[c].type._cached_bind_processor(dialect)
        if process is not None:
            # A column repeats its values (one updated_at for the batch, a handful of statuses,
            # paid_at times that are other orders' created_at): process each distinct one once.
            # Equal values process alike (equal datetimes are the same UTC instant).
            processed: dict[Any, Any] = {None: None}
            column = [processed[v] if v in processed else processed.setdefault(v, process(v)) for v in column]
        values.append(column)
    params = list(zip(*values))
    if sql is None:
        names = ", ".join(dialect.identifier_preparer.quote(c) for c in order)
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {dialect.identifier_preparer.format_table(table)} ({names}) FROM STDIN") as copy:
            for row in params:
                copy.write_row(row)
        return
    conn.exec_driver_sql(sql, params)


def bulk_insert_ignoring_duplicates(session: Session, table: Any, data: list[dict[str, Any]] | dict[str, list[Any]],
                                    conflict: list[str]) -> None:
    """The batch's writes straight to the driver: COPY into a temporary table and one INSERT …
    ON CONFLICT DO NOTHING on PostgreSQL, INSERT OR IGNORE executemany on SQLite. SQLAlchemy's
    per-row parameter processing costs more than the database on millions of rows.

    ``data``: rows (dicts) or columns (name → list of values, JSON already as text)."""
    if isinstance(data, list):
        if not data:
            return
        data = {c.name: [r[c.name] for r in data] for c in table.columns if c.name in data[0]}
    cols = [c.name for c in table.columns if c.name in data]
    missing = [c.name for c in table.columns if c.name not in data and not c.nullable
               and c.server_default is None and not c.primary_key]
    if missing:  # SQLAlchemy's Python-side defaults do not run here; INSERT OR IGNORE would drop rows
        raise ValueError(f"bulk insert into {table.name} lacks {missing}")
    texts: dict[dt.datetime, str] = {}
    pg = session.get_bind().dialect.name == "postgresql"

    def cell(v: Any) -> Any:
        if isinstance(v, dt.datetime) and not pg:  # models.base.UTCDateTime on SQLite: naive UTC text
            if v not in texts:
                texts[v] = v.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")
            return texts[v]
        return json.dumps(v) if isinstance(v, (dict, list)) else v

    # Convert column by column; most columns hold plain ints and strings and pass untouched.
    columns = []
    for c in cols:
        values = data[c]
        if isinstance(table.c[c].type, (UTCDateTime, JSON)):
            values = [cell(v) for v in values]
        columns.append(values)
    if not columns or not len(columns[0]):
        return
    raw = session.connection().connection.dbapi_connection
    cur = raw.cursor()
    try:
        if pg:
            cur.execute(f"DROP TABLE IF EXISTS tmp_{table.name}")
            cur.execute(f"CREATE TEMP TABLE tmp_{table.name} ON COMMIT DROP AS "
                        f"SELECT {', '.join(cols)} FROM {table.name} WITH NO DATA")
            with cur.copy(f"COPY tmp_{table.name} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in zip(*columns):
                    copy.write_row(row)
            # In key order: the unique index is then filled page by page, not at random.
            cur.execute(f"INSERT INTO {table.name} ({', '.join(cols)}) SELECT {', '.join(cols)} "
                        f"FROM tmp_{table.name} ORDER BY {', '.join(conflict)} "
                        f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING")
        else:
            rows = list(zip(*columns))
            key = [cols.index(c) for c in conflict]
            rows.sort(key=lambda r: tuple(r[i] for i in key))  # in key order, as above
            cur.executemany(f"INSERT OR IGNORE INTO {table.name} ({', '.join(cols)}) "
                            f"VALUES ({', '.join('?' * len(cols))})", rows)
    finally:
        cur.close()


def local_day(session: Session, column: Any, zone: ZoneInfo) -> Any:
    """A SQL expression for the calendar day ('YYYY-MM-DD') of a UTC ``column`` in ``zone``, so
    figures group by the brand's days in the database. SQLite shifts by the zone's offset now
    (exact for zones without daylight saving, such as China's)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(zone.key, column), "YYYY-MM-DD")
    offset = int(clock.now().astimezone(zone).utcoffset().total_seconds())
    return func.strftime("%Y-%m-%d", column, f"{offset:+d} seconds")
