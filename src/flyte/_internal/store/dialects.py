"""SQL dialects of the run store: SQLite (embedded default) and PostgreSQL (the server).

The store writes portable SQL — ``?`` placeholders, ``INSERT ... ON CONFLICT``, the types TEXT,
INTEGER, REAL and BLOB — and a dialect adapts it: connections, transactions, type names,
placeholders, the schema version, and which errors mean "busy, try again".
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse


class Connection(Protocol):
    """What store code may call on a connection (sqlite3's API; PostgreSQL is wrapped to match)."""

    def execute(self, sql: str, args: Sequence[Any] = ...) -> Any: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any: ...

    def close(self) -> None: ...


class Dialect(Protocol):
    name: str
    blob_dir: Path
    """Where values too large for a row are written."""
    log_order: str
    """ORDER BY clause that keeps log lines in the order they were written."""

    def connect(self) -> Connection: ...

    def begin(self, conn: Connection) -> None: ...

    def ddl(self, statement: str) -> str: ...

    def schema_version(self, conn: Connection) -> int: ...

    def set_schema_version(self, conn: Connection, version: int) -> None: ...

    def is_transient(self, error: Exception) -> bool: ...

    def describe(self) -> str: ...


class SqliteDialect:
    name = "sqlite"
    log_order = "at, rowid"

    def __init__(self, path: Path):
        self.path = path
        self.blob_dir = path.parent / "blobs"
        path.parent.mkdir(parents=True, exist_ok=True)

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout=30000")
            # Switching a new database to WAL can report "locked" without waiting when another
            # process does the same at the same moment; the store's retry loop waits that out.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def begin(self, conn: Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")

    def ddl(self, statement: str) -> str:
        return statement

    def schema_version(self, conn: Connection) -> int:
        return conn.execute("PRAGMA user_version").fetchone()[0]

    def set_schema_version(self, conn: Connection, version: int) -> None:
        conn.execute(f"PRAGMA user_version={int(version)}")

    def is_transient(self, error: Exception) -> bool:
        text = str(error)
        return isinstance(error, sqlite3.OperationalError) and ("locked" in text or "busy" in text)

    def describe(self) -> str:
        return str(self.path)


_PLACEHOLDER = re.compile(r"\?")
_SERIAL_ID = re.compile(r"\bid\s+INTEGER PRIMARY KEY")
_TYPES = ((re.compile(r"\bBLOB\b"), "BYTEA"), (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"))


class _PgConnection:
    """A psycopg connection that takes the store's ``?`` placeholders."""

    def __init__(self, conn: Any):
        self._conn = conn

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        return self._conn.execute(_PLACEHOLDER.sub("%s", sql), args or None)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        cursor = self._conn.cursor()
        cursor.executemany(_PLACEHOLDER.sub("%s", sql), rows)
        return cursor

    def close(self) -> None:
        self._conn.close()


class PostgresDialect:
    name = "postgresql"
    log_order = "at, id"

    def __init__(self, url: str, blob_dir: Path):
        self.url = url
        self.blob_dir = blob_dir
        blob_dir.mkdir(parents=True, exist_ok=True)

    def connect(self) -> _PgConnection:
        import psycopg  # only when a PostgreSQL store is used

        return _PgConnection(psycopg.connect(self.url, autocommit=True))

    def begin(self, conn: Connection) -> None:
        conn.execute("BEGIN")

    def ddl(self, statement: str) -> str:
        statement = statement.replace("WITHOUT ROWID", "")
        statement = _SERIAL_ID.sub("id BIGSERIAL PRIMARY KEY", statement)
        for pattern, replacement in _TYPES:
            statement = pattern.sub(replacement, statement)
        return statement

    def schema_version(self, conn: Connection) -> int:
        conn.execute("CREATE TABLE IF NOT EXISTS flyte_schema (version INTEGER NOT NULL)")
        row = conn.execute("SELECT max(version) FROM flyte_schema").fetchone()
        return row[0] or 0

    def set_schema_version(self, conn: Connection, version: int) -> None:
        conn.execute("DELETE FROM flyte_schema")
        conn.execute("INSERT INTO flyte_schema VALUES (?)", (int(version),))

    def is_transient(self, error: Exception) -> bool:
        import psycopg

        transient = (
            psycopg.errors.SerializationFailure,
            psycopg.errors.DeadlockDetected,
            psycopg.OperationalError,
        )
        return isinstance(error, transient)

    def describe(self) -> str:
        parsed = urlparse(self.url)
        return f"postgresql://{parsed.hostname}:{parsed.port or 5432}{parsed.path}"  # never the password


def dialect_for_url(url: str, blob_dir: Path | None = None) -> Dialect:
    """``sqlite:///path/to/runs.db`` or ``postgresql://user@host:port/db``."""
    if url.startswith("sqlite:///"):  # sqlite:///relative.db or sqlite:////absolute/path.db
        return SqliteDialect(Path(url[len("sqlite:///") :]))
    if url.startswith(("postgresql://", "postgres://")):
        if blob_dir is None:
            raise ValueError("a PostgreSQL run store needs a directory for large values (blob_dir)")
        return PostgresDialect(url, blob_dir)
    raise ValueError(
        f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://USER@HOST:PORT/DB"
    )
