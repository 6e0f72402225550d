"""Writing generated columns fast: executemany on SQLite, COPY on PostgreSQL.

Columns are numpy arrays (ints, bools, ``datetime64[us]`` with NaT for NULL, object arrays) or
lists of Python values. Times are written in exactly the text SQLAlchemy's SQLite ``DateTime``
stores ('YYYY-MM-DD HH:MM:SS.ffffff', UTC), so model reads and SQL comparisons agree, and as
'…+00' timestamps on PostgreSQL.
"""
from __future__ import annotations

import io
import sqlite3
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import Connection

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000


def tune_sqlite_for_bulk(conn: Connection) -> Callable[[], None]:
    """On SQLite, skip per-row foreign-key probes and use a big page cache for the load."""
    if conn.dialect.name != "sqlite":
        return lambda: None
    raw = conn.connection.driver_connection
    # Outside any transaction, so the pragmas take effect (the generator's rows are consistent
    # by construction; tests run PRAGMA foreign_key_check on the result).
    raw.execute("PRAGMA foreign_keys=OFF")
    raw.execute("PRAGMA cache_size=-1000000")  # 1 GB: also the sorter's budget for CREATE INDEX
    # A rollback journal copies only pages that existed before the transaction, and an empty
    # database has almost none; WAL would write every new page twice. Leaving WAL needs no
    # other connection open, so when the server runs meanwhile we simply stay in WAL.
    mode = raw.execute("PRAGMA journal_mode").fetchone()[0]
    try:
        raw.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.OperationalError:
        pass

    def restore() -> None:
        raw.execute("PRAGMA foreign_keys=ON")
        raw.execute("PRAGMA cache_size=-2000")
        try:
            raw.execute(f"PRAGMA journal_mode={mode}")
        except sqlite3.OperationalError:
            pass
    return restore


class ColumnWriter:
    """Writes dicts of columns: executemany on SQLite, COPY (CSV) on PostgreSQL."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"

    def write(self, table: str, columns: dict[str, Any]) -> None:
        names = list(columns)
        if not len(columns[names[0]]):
            return
        raw = self.conn.connection.driver_connection
        if self.postgres:
            import pandas as pd

            quoted = ", ".join(f'"{c}"' for c in names)
            frame = pd.DataFrame({c: _pg_column(columns[c]) for c in names})
            buf = io.StringIO()
            frame.to_csv(buf, header=False, index=False, na_rep="\\N")
            with raw.cursor() as cur, cur.copy(f"COPY {table} ({quoted}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as copy:
                copy.write(buf.getvalue())
            return
        values, nulls = {}, {}
        for c in names:
            values[c], missing = _sqlite_column(columns[c])
            if missing is not None and missing.any():
                nulls[c] = missing
        # sqlite3 binds None through its adapter lookup, several times slower than a value; so
        # rows are grouped by which columns are NULL and each group leaves those columns out.
        if not nulls:
            self._insert(raw, table, names, [values[c].tolist() for c in names])
            return
        pattern = np.zeros(len(values[names[0]]), dtype=np.int64)
        for bit, mask in enumerate(nulls.values()):
            pattern |= mask.astype(np.int64) << bit
        null_bit = {c: bit for bit, c in enumerate(nulls)}
        for code in np.unique(pattern).tolist():
            rows = np.flatnonzero(pattern == code)
            present = [c for c in names if c not in nulls or not (code >> null_bit[c]) & 1]
            self._insert(raw, table, present, [values[c][rows].tolist() for c in present])

    @staticmethod
    def _insert(raw: Any, table: str, names: list[str], values: list[list[Any]]) -> None:
        quoted = ", ".join(f'"{c}"' for c in names)
        raw.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({', '.join('?' * len(names))})",
                        zip(*values))

    def drop_for_load(self, tables: tuple[str, ...]) -> list[str]:
        """Drop what slows a bulk load of ``tables``; return the DDL that puts it back.

        That is their secondary (non-constraint) indexes, built once afterwards instead of row by
        row, and on PostgreSQL their foreign keys, checked in one pass when re-added instead of
        by a trigger per row (the PostgreSQL manual's advice for populating a database). Unique
        and primary keys stay. SQLite's foreign keys are off for the load (a pragma) instead.
        """
        names = ", ".join(f"'{t}'" for t in tables)
        restore: list[str] = []
        if self.postgres:
            keys = self.conn.exec_driver_sql(
                f"SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                f"WHERE contype = 'f' AND conrelid::regclass::text IN ({names})").all()
            for table, name, definition in keys:
                self.conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                restore.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            rows = self.conn.exec_driver_sql(
                f"SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                f"AND tablename IN ({names}) AND indexname NOT IN (SELECT conname FROM pg_constraint)").all()
        else:
            rows = self.conn.exec_driver_sql(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ({names}) "
                f"AND sql IS NOT NULL").all()
        for name, _ in rows:
            self.conn.exec_driver_sql(f'DROP INDEX "{name}"')
        return [ddl for _, ddl in rows] + restore

    def restore(self, ddl: list[str]) -> None:
        for statement in ddl:
            self.conn.exec_driver_sql(statement)

    def advance_sequences(self, tables: tuple[str, ...]) -> None:
        """We chose the ids; move PostgreSQL's sequences past them for the rows inserted later."""
        if not self.postgres:
            return
        for table in tables:
            self.conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT max(id) FROM {table}), 1), (SELECT max(id) FROM {table}) IS NOT NULL)")


_PAIRS = np.array([[48 + i // 10, 48 + i % 10] for i in range(100)], dtype=np.uint32)


def _iso_us(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """datetime64[us] → fixed-width 'YYYY-MM-DD HH:MM:SS.ffffff' code points, and the NaT mask.

    Built from lookup tables: ``np.datetime_as_string`` costs about a microsecond per value,
    which is minutes over ten million orders.
    """
    missing = np.isnat(values)
    us = np.where(missing, 0, values.view(np.int64))
    days = us // DAY_US
    first = int(days.min())
    calendar = np.datetime_as_string(np.arange(first, int(days.max()) + 1).astype("datetime64[D]")).astype("U10")
    codes = np.empty((len(values), 26), dtype=np.uint32)
    codes[:, :10] = calendar.view(np.uint32).reshape(-1, 10)[days - first]
    rest = us - days * DAY_US
    codes[:, 10] = ord(" ")
    codes[:, 13] = codes[:, 16] = ord(":")
    codes[:, 19] = ord(".")
    seconds = rest // 1_000_000
    codes[:, 11:13] = _PAIRS[seconds // 3600]
    codes[:, 14:16] = _PAIRS[seconds // 60 % 60]
    codes[:, 17:19] = _PAIRS[seconds % 60]
    micros = rest % 1_000_000
    if micros.any():
        codes[:, 20:22] = _PAIRS[micros // 10_000]
        codes[:, 22:24] = _PAIRS[micros // 100 % 100]
        codes[:, 24:26] = _PAIRS[micros % 100]
    else:
        codes[:, 20:26] = ord("0")
    return codes, missing


def _sqlite_column(values: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """The column as an array of SQLite values, and which rows are NULL (None if none can be)."""
    if isinstance(values, list):
        values = np.array(values, dtype=object)
    if values.dtype.kind == "M":
        missing = np.isnat(values)
        if values.dtype == np.dtype("datetime64[D]"):
            return np.datetime_as_string(values).astype(object), missing
        # The same text SQLAlchemy's SQLite DateTime writes, so comparisons and reads agree.
        codes, missing = _iso_us(values)
        return codes.view("U26").reshape(len(values)).astype(object), missing
    if values.dtype.kind == "b":
        return values.astype(np.int64), None
    if values.dtype.kind == "O":
        return values, np.equal(values, None)
    return values, None


def _pg_column(values: Any) -> Any:
    if isinstance(values, list):
        return values
    if values.dtype.kind == "M":
        if values.dtype == np.dtype("datetime64[D]"):
            text = np.datetime_as_string(values).astype(object)
            text[np.isnat(values)] = None
            return text
        codes, missing = _iso_us(values)
        utc = np.empty((len(values), 29), dtype=np.uint32)
        utc[:, :26] = codes
        utc[:, 26:] = [ord("+"), ord("0"), ord("0")]
        text = utc.view("U29").reshape(len(values)).astype(object)
        text[missing] = None
        return text
    return values
