"""The run store's tables, in portable SQL (see ``dialects``).

Bump SCHEMA_VERSION with every change; the DDL must stay idempotent so that running it again
migrates an older store (with the ``MIGRATIONS`` steps for what it cannot create).
"""

from __future__ import annotations

SCHEMA_VERSION = 7

MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: ("ALTER TABLE actions ADD COLUMN report_path TEXT",),
    3: ("ALTER TABLE runs ADD COLUMN labels TEXT",),
    4: (),  # the conditions table: created by the DDL
    5: (),  # the action_aborts table (flyte abort action): created by the DDL
    6: ("ALTER TABLE actions ADD COLUMN error_traceback TEXT",),
    7: ("ALTER TABLE actions ADD COLUMN error_code TEXT",),
}
"""Statements that bring a store at version ``n - 1`` to version ``n`` (run before the DDL, which
creates what is missing). An ``ALTER TABLE t ADD COLUMN c`` is skipped when ``t`` does not exist
yet (the DDL then creates it whole) or already has ``c``."""

DDL = """
CREATE TABLE IF NOT EXISTS runs (
    name          TEXT PRIMARY KEY,
    task_name     TEXT NOT NULL,
    phase         TEXT NOT NULL,
    created_at    REAL NOT NULL,
    ended_at      REAL,
    owner         TEXT NOT NULL,
    error_type    TEXT,
    error_message TEXT,
    source_run    TEXT,
    abort_reason  TEXT,
    task_module   TEXT,
    task_file     TEXT,
    root_dir      TEXT,
    labels        TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_time ON runs (created_at);

CREATE TABLE IF NOT EXISTS actions (
    run_name      TEXT NOT NULL,
    name          TEXT NOT NULL,
    parent        TEXT,
    task_name     TEXT NOT NULL,
    group_name    TEXT,
    phase         TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    created_at    REAL NOT NULL,
    started_at    REAL,
    ended_at      REAL,
    inputs        BLOB,
    inputs_ref    TEXT,
    outputs       BLOB,
    outputs_ref   TEXT,
    error_type    TEXT,
    error_message TEXT,
    cache_status  TEXT,
    history       BLOB,
    report_path   TEXT,
    error_traceback TEXT,
    error_code    TEXT,
    PRIMARY KEY (run_name, name)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS traces (
    run_name   TEXT NOT NULL,
    action     TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    name       TEXT NOT NULL,
    inputs     BLOB,
    outputs    BLOB,
    error      TEXT,
    started_at REAL,
    ended_at   REAL,
    PRIMARY KEY (run_name, action, seq)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS logs (
    id       INTEGER PRIMARY KEY,
    run_name TEXT NOT NULL,
    action   TEXT NOT NULL,
    attempt  INTEGER NOT NULL,
    stream   TEXT NOT NULL,
    at       REAL NOT NULL,
    line     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS logs_by_action ON logs (run_name, action);

CREATE TABLE IF NOT EXISTS cache (
    key        TEXT PRIMARY KEY,
    task_name  TEXT NOT NULL,
    version    TEXT NOT NULL,
    outputs    BLOB,
    outputs_ref TEXT,
    created_at REAL NOT NULL,
    run_name   TEXT,
    action     TEXT
);

CREATE TABLE IF NOT EXISTS cache_meta (
    id         INTEGER PRIMARY KEY CHECK (id = 0),
    generation INTEGER NOT NULL
);
INSERT INTO cache_meta VALUES (0, 0) ON CONFLICT (id) DO NOTHING;

-- `flyte abort action RUN ACTION` from another process: the process running the run polls this
-- table (with the run's own abort request) and cancels that action.
CREATE TABLE IF NOT EXISTS action_aborts (
    run_name TEXT NOT NULL,
    action   TEXT NOT NULL,
    reason   TEXT NOT NULL,
    PRIMARY KEY (run_name, action)
);

CREATE TABLE IF NOT EXISTS cache_locks (
    key         TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    acquired_at REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS conditions (
    run_name     TEXT NOT NULL,
    action       TEXT NOT NULL,
    parent       TEXT NOT NULL,
    name         TEXT NOT NULL,
    prompt       TEXT NOT NULL,
    prompt_type  TEXT NOT NULL,
    description  TEXT NOT NULL,
    data_type    TEXT NOT NULL,
    timeout      REAL,
    created_at   REAL NOT NULL,
    phase        TEXT NOT NULL,
    value        TEXT,
    resolved_at  REAL,
    resolved_by  TEXT,
    webhook      TEXT,
    PRIMARY KEY (run_name, action)
);
CREATE INDEX IF NOT EXISTS conditions_by_name ON conditions (run_name, name);
"""
