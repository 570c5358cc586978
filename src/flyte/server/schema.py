"""The server's own tables, next to the run store's (``runs``, ``actions``, ``logs``...).

Portable SQL only (the run store's dialect adapts types for PostgreSQL): ``server_runs`` keeps what
a run was created with, ``server_actions`` what the scheduler needs to (re)queue an action, and
``server_api_keys`` the SHA-256 of every API key; ``server_tasks`` every deployed task
version, ``server_triggers`` the triggers of deployed tasks and ``server_trigger_fires`` each tick
a trigger fired (its primary key is what keeps two servers from firing the same tick twice), and
``server_clock`` the anchor of a scaled trigger clock (docs/deploy.md). Leases live in memory:
a lease belongs to the server process that granted it, so a restarted server treats every
earlier lease as expired.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flyte._internal.store import RunStore

SERVER_DDL = (
    """
    CREATE TABLE IF NOT EXISTS server_runs (
        name            TEXT PRIMARY KEY,
        task            TEXT NOT NULL,
        env_vars        TEXT NOT NULL,
        custom_context  TEXT NOT NULL,
        overwrite_cache INTEGER NOT NULL,
        recover_from    TEXT,
        max_action_concurrency INTEGER,
        raw_data_path   TEXT
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS server_actions (
        run_name        TEXT NOT NULL,
        name            TEXT NOT NULL,
        task            TEXT NOT NULL,
        custom_context  TEXT NOT NULL,
        failures        INTEGER NOT NULL,
        system_failures INTEGER NOT NULL,
        not_before      REAL NOT NULL,
        cache_key       TEXT,
        parent_attempt  INTEGER NOT NULL,
        PRIMARY KEY (run_name, name)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS server_api_keys (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL,
        sha256     TEXT NOT NULL UNIQUE,
        created_at REAL NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS server_tasks (
        name       TEXT NOT NULL,
        version    TEXT NOT NULL,
        spec       TEXT NOT NULL,
        bundle_key TEXT,
        created_at REAL NOT NULL,
        PRIMARY KEY (name, version)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS server_triggers (
        task_name      TEXT NOT NULL,
        name           TEXT NOT NULL,
        task_version   TEXT NOT NULL,
        spec           TEXT NOT NULL,
        active         INTEGER NOT NULL,
        anchor         REAL NOT NULL,
        last_scheduled REAL,
        created_at     REAL NOT NULL,
        updated_at     REAL NOT NULL,
        PRIMARY KEY (task_name, name)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS server_trigger_fires (
        task_name    TEXT NOT NULL,
        trigger_name TEXT NOT NULL,
        scheduled_at REAL NOT NULL,
        run_name     TEXT NOT NULL,
        fired_at     REAL NOT NULL,
        PRIMARY KEY (task_name, trigger_name, scheduled_at)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS server_clock (
        name   TEXT PRIMARY KEY,
        scale  REAL NOT NULL,
        anchor REAL NOT NULL
    )
    """,
)


SERVER_COLUMNS = (
    "ALTER TABLE server_runs ADD COLUMN max_action_concurrency INTEGER",
    "ALTER TABLE server_runs ADD COLUMN raw_data_path TEXT",
)
"""Columns added since a table was first created: added to a database made by an older server
(each only where it is missing, so that running them again changes nothing)."""


def ensure_server_schema(store: RunStore) -> None:
    """Create the server's tables if they are missing, and their newer columns (idempotent)."""
    from flyte._internal.store.sqlite import migrate_statement

    dialect = getattr(store, "dialect", None)
    statements = [dialect.ddl(s) if dialect is not None else s for s in SERVER_DDL]

    def create(conn: Any) -> None:  # a DB-API connection of the store's dialect
        for statement in statements:
            conn.execute(statement)
        for statement in SERVER_COLUMNS:
            migrate_statement(conn, statement)

    store.execute_write(create)
