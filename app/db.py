"""Engine, sessions and migrations.

Request code reads through ``session()`` (one per request) and writes through
``transaction()``: one transaction per action, committed or rolled back as a whole. Callbacks
registered with ``after_commit(session, fn)`` run only once the commit has succeeded — that is how
realtime events and jobs leave (never for work that was rolled back).
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

_POST_COMMIT = "daogou.post_commit"
WRITE_OPTION = "daogou_write"


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
