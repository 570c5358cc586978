"""The run store: SQLite in WAL mode (embedded) or PostgreSQL (the server), with group commit.

Controllers never write on the hot path: they mark actions dirty, and a committer thread writes
every dirty action's latest state in one transaction every ``COMMIT_INTERVAL`` seconds, and at
the well-defined points that need durability (run start and end, a serialized cache entry).
Large inputs and outputs go to content-addressed files next to the database; rows hold the rest.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import msgpack

from flyte._internal.controllers._action import ActionNode, TraceEntry
from flyte._internal.digest import LARGE, blob_digest
from flyte._internal.redaction import redact
from flyte._internal.store.dialects import Connection, Dialect, SqliteDialect, dialect_for_url
from flyte._internal.store.liveness import owner_alive
from flyte._internal.store.records import ActionRecord, LogRecord, PhaseEvent, RunRecord, TraceRecord
from flyte._internal.store.schema import DDL, MIGRATIONS, SCHEMA_VERSION
from flyte._internal.tracebacks import user_traceback
from flyte.errors import RuntimeSystemError, own_code
from flyte.models import ActionPhase
from flyte.types._wire import Spliced, whole

if TYPE_CHECKING:
    from flyte.storage._store import BlobStore

T = TypeVar("T")
logger = logging.getLogger("flyte")

COMMIT_INTERVAL = 0.1
INLINE_LIMIT = LARGE
"""Encoded values above this many bytes live in blob files, not in rows."""
LOCK_RETRY_SECONDS = 60.0
CONNECT_RETRY_SECONDS = 5.0
"""Opening a store that cannot be reached fails after this long (a busy one is waited out longer)."""

_ADD_COLUMN = re.compile(r"ALTER TABLE (\w+) ADD COLUMN (\w+)", re.IGNORECASE)


def migrate_statement(conn: Connection, statement: str) -> None:
    """Run one migration statement; an added column only where its table exists without it."""
    added = _ADD_COLUMN.match(statement.strip())
    if added is None:
        conn.execute(statement)
        return
    table, column = added.groups()
    conn.execute("SAVEPOINT flyte_probe")  # a failed probe must not abort the migration's transaction
    try:
        columns = [d[0] for d in conn.execute(f"SELECT * FROM {table} LIMIT 0").description]
    except Exception:  # no such table yet: the DDL creates it with every column
        conn.execute("ROLLBACK TO SAVEPOINT flyte_probe")
        conn.execute("RELEASE SAVEPOINT flyte_probe")
        return
    conn.execute("RELEASE SAVEPOINT flyte_probe")
    if column.lower() not in (c.lower() for c in columns):
        conn.execute(statement)


CACHE_UPSERT = """
INSERT INTO cache (key, task_name, version, outputs, outputs_ref, created_at, run_name, action)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET
    task_name = excluded.task_name, version = excluded.version, outputs = excluded.outputs,
    outputs_ref = excluded.outputs_ref, created_at = excluded.created_at, run_name = excluded.run_name,
    action = excluded.action
"""

TRACE_UPSERT = """
INSERT INTO traces (run_name, action, seq, name, inputs, outputs, error, started_at, ended_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (run_name, action, seq) DO UPDATE SET
    name = excluded.name, inputs = excluded.inputs, outputs = excluded.outputs, error = excluded.error,
    started_at = excluded.started_at, ended_at = excluded.ended_at
"""

LOG_INSERT = "INSERT INTO logs (run_name, action, attempt, stream, at, line) VALUES (?, ?, ?, ?, ?, ?)"

_ACTION_UPSERT = """
INSERT INTO actions (run_name, name, parent, task_name, group_name, phase, attempts, created_at,
                     started_at, ended_at, inputs, inputs_ref, outputs, outputs_ref, error_type,
                     error_message, cache_status, history, report_path, error_traceback, error_code)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (run_name, name) DO UPDATE SET
    phase = excluded.phase, attempts = excluded.attempts, started_at = excluded.started_at,
    ended_at = excluded.ended_at, outputs = COALESCE(excluded.outputs, actions.outputs),
    outputs_ref = COALESCE(excluded.outputs_ref, actions.outputs_ref),
    error_type = excluded.error_type, error_message = excluded.error_message,
    cache_status = excluded.cache_status, history = excluded.history, report_path = excluded.report_path,
    error_traceback = excluded.error_traceback, error_code = excluded.error_code
"""


def _error_fields(error: BaseException | None) -> tuple[str | None, str | None]:
    if error is None:
        return None, None
    return type(error).__name__, redact(str(error))


def action_error_fields(
    error: BaseException | None, phase: ActionPhase, abort_reason: str | None
) -> tuple[str | None, str | None]:
    """(error type, message) of an action as recorded: its error, secrets hidden, or for an
    aborted action without one ``ActionAbortedError`` with the reason. Every reader of a live or
    recorded action shows these. (Arguments, not the node: a snapshot reads the error before
    the phase, see ``_action_row``.)"""
    error_type, message = _error_fields(error)
    if phase is ActionPhase.ABORTED and message is None:
        error_type, message = "ActionAbortedError", abort_reason or "aborted"
    return error_type, message


class RunStore:
    """Runs, actions, traces, logs and the task cache of one ``FLYTE_HOME``."""

    def __init__(self, location: Path | Dialect):
        self.dialect: Dialect = SqliteDialect(location) if isinstance(location, Path) else location
        self.identity = self.dialect.describe()
        """Names this store (file path or database URL without credentials), e.g. for caches."""
        self.blob_dir = self.dialect.blob_dir
        self.blobs: BlobStore | None = None
        """Where large values go instead of ``blob_dir`` (an object store, set by the server)."""
        self._write_lock = threading.Lock()
        self._writer = self._retrying(self._connect, patience=CONNECT_RETRY_SECONDS)
        self._local = threading.local()
        self._readers: list[Connection] = []
        self._readers_lock = threading.Lock()
        self._retrying(self._init_schema)
        self._dirty_lock = threading.Lock()
        self._dirty: dict[ActionNode, None] = {}
        self._traces: list[tuple] = []
        self._logs: list[tuple] = []
        self._cache_rows: list[tuple] = []
        self._committer: threading.Thread | None = None
        self._committer_users = 0
        self._stop = threading.Event()
        self._watchers: dict[str, Callable[[str], None]] = {}
        self._action_watchers: dict[str, Callable[[str, str], None]] = {}

    # -- connections ------------------------------------------------------------------------------

    def _connect(self) -> Connection:
        return self.dialect.connect()

    def _reader(self) -> Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._retrying(self._connect)
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def _init_schema(self) -> None:
        with self._write_lock:
            conn, dialect = self._writer, self.dialect
            if dialect.schema_version(conn) >= SCHEMA_VERSION:
                return
            dialect.begin(conn)
            try:
                version = dialect.schema_version(conn)  # another process may have migrated meanwhile
                has_tables = version > 0
                if has_tables and version < SCHEMA_VERSION:
                    for step in range(version + 1, SCHEMA_VERSION + 1):
                        for statement in MIGRATIONS.get(step, ()):
                            migrate_statement(conn, statement)
                if version < SCHEMA_VERSION:
                    for statement in DDL.split(";"):
                        if statement.strip():
                            conn.execute(dialect.ddl(statement))
                    dialect.set_schema_version(conn, SCHEMA_VERSION)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _retrying(self, fn: Callable[[], T], patience: float = LOCK_RETRY_SECONDS) -> T:
        """Run a store operation, waiting out other writers: "database is locked" never surfaces."""
        deadline = time.monotonic() + patience
        delay = 0.01
        while True:
            try:
                return fn()
            except RuntimeSystemError:
                raise
            except Exception as e:
                if not self.dialect.is_transient(e):
                    if isinstance(e, sqlite3.Error) or type(e).__module__.startswith("psycopg"):
                        raise RuntimeSystemError("RunStoreError", f"run store error: {e}") from e
                    raise
                if time.monotonic() > deadline:
                    raise RuntimeSystemError(
                        "RunStoreBusy",
                        f"the run store at {self.identity} stayed unavailable for {patience:.0f}s: {e}",
                    ) from e
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def _write(self, statements: Callable[[Connection], None]) -> None:
        def transaction() -> None:
            with self._write_lock:
                self.dialect.begin(self._writer)
                try:
                    statements(self._writer)
                except BaseException:
                    self._writer.execute("ROLLBACK")
                    raise
                self._writer.execute("COMMIT")

        self._retrying(transaction)

    def close(self) -> None:
        """Stop committing, then close every connection this store opened (any thread's)."""
        self.stop_committer(force=True)
        with self._write_lock:
            self._writer.close()
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for conn in readers:
            try:
                conn.close()
            except Exception:  # a connection already broken is closed enough
                pass
        self._local = threading.local()

    # -- blobs -----------------------------------------------------------------------------------------

    def offload(
        self, data: bytes | Spliced | None, digest: str | None = None
    ) -> tuple[bytes | None, str | None]:
        """(inline bytes, None) for small data; (None, blob reference) after writing large data to a
        file. ``digest`` is ``blob_digest(data)`` when the caller has it already. Spliced data
        (always large) is hashed and written part by part, never joined."""
        if data is None or len(data) < INLINE_LIMIT:
            return data, None  # type: ignore[return-value]  # small: always bytes
        ref = digest or blob_digest(data)
        if self.blobs is not None:
            key = f"{ref[:2]}/{ref}"
            if not self.blobs.exists(key):
                self.blobs.put_bytes(whole(data), key)
            return None, ref
        target = self.blob_dir / ref[:2] / ref
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(f".{threading.get_ident()}.tmp")
            with tmp.open("wb") as f:
                if type(data) is bytes:
                    f.write(data)
                else:
                    data.write_to(f)  # type: ignore[union-attr]
            tmp.replace(target)
        return None, ref

    def load(self, inline: bytes | None, ref: str | None) -> bytes | None:
        """The bytes that :meth:`offload` split into a row value and a blob reference."""
        if ref is None:
            return inline
        if self.blobs is not None:
            with self.blobs.open(f"{ref[:2]}/{ref}", "rb") as f:
                return f.read()
        return (self.blob_dir / ref[:2] / ref).read_bytes()

    # -- runs ------------------------------------------------------------------------------------------

    def create_run(
        self,
        name: str,
        task_name: str,
        owner: str,
        *,
        source_run: str | None = None,
        task_module: str | None = None,
        task_file: str | None = None,
        root_dir: str | None = None,
        labels: dict[str, str] | None = None,
    ) -> None:
        """Record a new run, durably, before any of its actions execute."""
        row = (name, task_name, ActionPhase.RUNNING.value, time.time(), owner, source_run, task_module,
               task_file, root_dir, json.dumps(labels) if labels else None)  # fmt: skip

        def insert(conn: Connection) -> None:
            exists = conn.execute("SELECT 1 FROM runs WHERE name = ?", (name,)).fetchone()
            if exists:
                raise ValueError(f"A run named '{name}' already exists; choose another name")
            conn.execute(
                "INSERT INTO runs (name, task_name, phase, created_at, owner, source_run, task_module,"
                " task_file, root_dir, labels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )

        self._write(insert)

    def finish_run(self, name: str, phase: ActionPhase, error: BaseException | None) -> None:
        """Flush everything of the run and record its final phase."""
        error_type, message = _error_fields(error)
        self.flush()
        self._write(
            lambda c: c.execute(
                "UPDATE runs SET phase = ?, ended_at = ?, error_type = ?, error_message = ? WHERE name = ?",
                (phase.value, time.time(), error_type, message, name),
            )
        )

    def request_abort(self, name: str, reason: str) -> bool:
        """Ask the process running ``name`` to abort it; False if the run is not running."""
        self.reap_dead_runs()
        done: list[bool] = []

        def update(conn: Connection) -> None:
            cur = conn.execute(
                "UPDATE runs SET abort_reason = ? WHERE name = ? AND ended_at IS NULL", (reason, name)
            )
            done.append(cur.rowcount > 0)

        self._write(update)
        return done[0]

    def request_action_abort(self, run_name: str, action: str, reason: str) -> bool:
        """Ask the process running ``run_name`` to abort one of its actions (and what runs under it);
        False if the run is not running. Aborting ``a0`` aborts the run."""
        if action == "a0":
            return self.request_abort(run_name, reason)
        self.reap_dead_runs()
        done: list[bool] = []

        def insert(conn: Connection) -> None:
            running = conn.execute(
                "SELECT 1 FROM runs WHERE name = ? AND ended_at IS NULL", (run_name,)
            ).fetchone()
            if running:
                conn.execute(
                    "INSERT INTO action_aborts (run_name, action, reason) VALUES (?, ?, ?)"
                    " ON CONFLICT (run_name, action) DO UPDATE SET reason = excluded.reason",
                    (run_name, action, reason),
                )
            done.append(running is not None)

        self._write(insert)
        return done[0]

    def reap_dead_runs(self) -> list[str]:
        """Mark runs whose process died (and their unfinished actions) as failed; return their names."""
        rows = self._reader().execute("SELECT name, owner FROM runs WHERE ended_at IS NULL").fetchall()
        dead = [name for name, owner in rows if not owner_alive(owner)]
        if not dead:
            return []
        now = time.time()
        message = "the process running this run exited before it finished"

        def mark(conn: Connection) -> None:
            for name in dead:
                conn.execute(
                    "UPDATE runs SET phase = ?, ended_at = ?, error_type = ?, error_message = ? "
                    "WHERE name = ? AND ended_at IS NULL",
                    (ActionPhase.FAILED.value, now, "ProcessDied", message, name),
                )
                conn.execute(
                    "UPDATE actions SET phase = ?, ended_at = ?, error_type = ?, error_message = ? "
                    "WHERE run_name = ? AND phase NOT IN ('succeeded', 'failed', 'aborted', 'timed_out')",
                    (ActionPhase.FAILED.value, now, "ProcessDied", message, name),
                )

        self._write(mark)
        return dead

    # -- the committer ------------------------------------------------------------------------------

    def mark_dirty(self, node: ActionNode) -> None:
        with self._dirty_lock:
            self._dirty[node] = None

    def add_trace(self, run_name: str, action: str, seq: int, entry: TraceEntry) -> None:
        row = (run_name, action, seq, entry.name, entry.inputs, entry.outputs, entry.error, entry.started_at,
               entry.ended_at)  # fmt: skip
        with self._dirty_lock:
            self._traces.append(row)

    def add_logs(self, rows: Iterable[tuple[str, str, int, str, float, str]]) -> None:
        with self._dirty_lock:
            self._logs.extend(rows)

    def add_cache_row(self, row: tuple) -> None:
        with self._dirty_lock:
            self._cache_rows.append(row)

    def flush(self) -> None:
        """Write every pending change now, in one transaction."""
        with self._dirty_lock:
            nodes, self._dirty = list(self._dirty), {}
            traces, self._traces = self._traces, []
            logs, self._logs = self._logs, []
            cache_rows, self._cache_rows = self._cache_rows, []
        if not (nodes or traces or logs or cache_rows):
            return
        rows = [self._action_row(node) for node in nodes]

        def write(conn: Connection) -> None:
            if rows:
                conn.executemany(_ACTION_UPSERT, rows)
            if traces:
                conn.executemany(TRACE_UPSERT, traces)
            if logs:
                conn.executemany(LOG_INSERT, logs)
            if cache_rows:
                conn.executemany(CACHE_UPSERT, cache_rows)

        self._write(write)

    def _action_row(self, node: ActionNode) -> tuple:
        # Read outputs and error before phase: the loop thread sets them before the phase, so a
        # row never shows "succeeded" without its outputs.
        outputs, error = node.encoded_outputs, node.error
        phase = node.phase
        inputs, inputs_ref = self.offload(node.encoded_inputs, node.inputs_digest)
        if phase is ActionPhase.SUCCEEDED and outputs is not None and len(outputs) >= INLINE_LIMIT:
            # Every snapshot of the action writes its row again: hash its large outputs once.
            known = node.outputs_digest
            if known is None or known[0] is not outputs:
                known = node.outputs_digest = (outputs, blob_digest(outputs))
            outputs, outputs_ref = self.offload(outputs, known[1])
        else:
            outputs, outputs_ref = self.offload(outputs if phase is ActionPhase.SUCCEEDED else None)
        error_type, message = action_error_fields(error, phase, node.abort_reason)
        history = msgpack.packb(node.history)
        parent = node.parent.name if node.parent is not None else None
        return (node.id.run_name, node.name, parent, node.task_name, node.group, phase.value, node.attempts,
                node.created_at, node.started_at, node.ended_at, inputs, inputs_ref, outputs, outputs_ref,
                error_type, message, node.cache_status, history, node.report_path,
                user_traceback(error), own_code(error))  # fmt: skip

    def start_committer(self) -> None:
        with self._write_lock:
            self._committer_users += 1
            if self._committer is not None:
                return
            self._stop.clear()
            self._committer = threading.Thread(target=self._commit_loop, name="flyte-store", daemon=True)
            self._committer.start()

    def stop_committer(self, force: bool = False) -> None:
        with self._write_lock:
            self._committer_users = 0 if force else max(0, self._committer_users - 1)
            thread = self._committer if self._committer_users == 0 else None
            if thread is not None:
                self._committer = None
                self._stop.set()
        if thread is not None:
            thread.join()
        self.flush()

    def watch_abort(
        self,
        run_name: str,
        callback: Callable[[str], None],
        on_action: Callable[[str, str], None] | None = None,
    ) -> None:
        """Call ``callback(reason)`` (from the committer thread) when someone asks to abort the run,
        and ``on_action(action, reason)`` when someone asks to abort one of its actions."""
        self._watchers[run_name] = callback
        if on_action is not None:
            self._action_watchers[run_name] = on_action

    def unwatch_abort(self, run_name: str) -> None:
        self._watchers.pop(run_name, None)
        self._action_watchers.pop(run_name, None)

    def _commit_loop(self) -> None:
        polls = 0
        while not self._stop.wait(COMMIT_INTERVAL):
            try:
                self.flush()
                polls += 1
                if self._watchers and polls % 3 == 0:
                    self._poll_aborts()
            except Exception as e:  # keep committing; the final flush at run end raises if still broken
                logger.warning(
                    "flyte: writing to the run store at %s failed, will retry: %s", self.identity, e
                )
                time.sleep(COMMIT_INTERVAL)

    def _poll_aborts(self) -> None:
        for run_name, callback in list(self._watchers.items()):
            row = (
                self._reader().execute("SELECT abort_reason FROM runs WHERE name = ?", (run_name,)).fetchone()
            )
            if row and row[0]:
                self._watchers.pop(run_name, None)
                self._action_watchers.pop(run_name, None)
                callback(row[0])
        for run_name, on_action in list(self._action_watchers.items()):
            rows = (
                self._reader()
                .execute("SELECT action, reason FROM action_aborts WHERE run_name = ?", (run_name,))
                .fetchall()
            )
            if not rows:
                continue
            # Taken once: a request is handed over, then removed, so it never fires twice.
            taken = [(run_name, action) for action, _ in rows]

            def remove(conn: Connection, taken: list[tuple[str, str]] = taken) -> None:
                conn.executemany("DELETE FROM action_aborts WHERE run_name = ? AND action = ?", taken)

            self._write(remove)
            for action, reason in rows:
                on_action(action, reason)

    # -- reads -----------------------------------------------------------------------------------------

    _RUN_COLUMNS = (
        "name, task_name, phase, created_at, ended_at, owner, error_type, error_message, source_run,"
        " abort_reason, task_module, task_file, root_dir, labels"
    )

    @staticmethod
    def _run(row: tuple) -> RunRecord:
        labels = json.loads(row[13]) if row[13] else {}
        return RunRecord(row[0], row[1], ActionPhase(row[2]), *row[3:13], labels=labels)  # type: ignore[misc]

    def get_run(self, name: str) -> RunRecord | None:
        row = (
            self._reader().execute(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE name = ?", (name,)).fetchone()
        )
        return self._run(row) if row else None

    def list_runs(
        self,
        *,
        phases: Iterable[ActionPhase] = (),
        task_name: str | None = None,
        limit: int = 100,
        labels: dict[str, str] | None = None,
    ) -> list[RunRecord]:
        """Most recent first; ``labels`` keeps the runs carrying all of them (project, domain...)."""
        where, args = [], []
        for key, value in (labels or {}).items():  # narrowed in SQL, matched exactly below
            fragment = json.dumps({key: value})[1:-1]
            escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("labels LIKE ? ESCAPE '\\'")
            args.append(f"%{escaped}%")
        phase_values = [p.value for p in phases]
        if phase_values:
            where.append(f"phase IN ({', '.join('?' * len(phase_values))})")
            args.extend(phase_values)
        if task_name:
            where.append("(task_name = ? OR task_name LIKE ?)")
            args.extend([task_name, f"%.{task_name}"])
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._reader().execute(
            f"SELECT {self._RUN_COLUMNS} FROM runs {clause} ORDER BY created_at DESC LIMIT ?", (*args, limit)
        )
        found = [self._run(r) for r in rows.fetchall()]
        wanted = (labels or {}).items()
        return [r for r in found if all(r.labels.get(k) == v for k, v in wanted)]

    _ACTION_COLUMNS = (
        "run_name, name, parent, task_name, group_name, phase, attempts, created_at, started_at, ended_at,"
        " error_type, error_message, cache_status, history, report_path, error_traceback, error_code"
    )

    @staticmethod
    def _action(row: tuple) -> ActionRecord:
        history = tuple(PhaseEvent(ActionPhase(p), at, a) for p, at, a in msgpack.unpackb(row[13] or b"\x90"))
        return ActionRecord(*row[:5], ActionPhase(row[5]), *row[6:13], history, row[14], row[15], row[16])  # type: ignore[call-arg]

    def list_actions(self, run_name: str) -> list[ActionRecord]:
        """Every action of a run, in creation order (parents before their children)."""
        rows = self._reader().execute(
            f"SELECT {self._ACTION_COLUMNS} FROM actions WHERE run_name = ? ORDER BY created_at, name",
            (run_name,),
        )
        return [self._action(r) for r in rows.fetchall()]

    def get_action(self, run_name: str, name: str) -> ActionRecord | None:
        row = (
            self._reader()
            .execute(
                f"SELECT {self._ACTION_COLUMNS} FROM actions WHERE run_name = ? AND name = ?",
                (run_name, name),
            )
            .fetchone()
        )
        return self._action(row) if row else None

    def action_io(self, run_name: str, name: str) -> tuple[bytes | None, bytes | None]:
        """The encoded inputs and outputs of an action."""
        row = (
            self._reader()
            .execute(
                "SELECT inputs, inputs_ref, outputs, outputs_ref FROM actions"
                " WHERE run_name = ? AND name = ?",
                (run_name, name),
            )
            .fetchone()
        )
        if row is None:
            return None, None
        return self.load(row[0], row[1]), self.load(row[2], row[3])

    def succeeded_actions(
        self, run_name: str
    ) -> dict[str, tuple[str, bytes | None, str | None, bytes | None]]:
        """name -> (task_name, inputs, inputs_ref, outputs) of every succeeded action (for recovery)."""
        rows = self._reader().execute(
            "SELECT name, task_name, inputs, inputs_ref, outputs, outputs_ref FROM actions "
            "WHERE run_name = ? AND phase = 'succeeded'",
            (run_name,),
        )
        return {r[0]: (r[1], r[2], r[3], self.load(r[4], r[5])) for r in rows.fetchall()}

    def get_traces(self, run_name: str, action: str | None = None) -> list[TraceRecord]:
        sql, args = "SELECT * FROM traces WHERE run_name = ?", [run_name]
        if action is not None:
            sql, args = sql + " AND action = ?", [*args, action]
        rows = self._reader().execute(sql + " ORDER BY action, seq", args).fetchall()
        return [TraceRecord(*r) for r in rows]

    def get_logs(self, run_name: str, action: str | None = None) -> list[LogRecord]:
        sql = "SELECT run_name, action, attempt, stream, at, line FROM logs WHERE run_name = ?"
        args = [run_name]
        if action is not None:
            sql, args = sql + " AND action = ?", [*args, action]
        rows = self._reader().execute(f"{sql} ORDER BY {self.dialect.log_order}", args).fetchall()
        return [LogRecord(*r) for r in rows]

    def execute_read(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple]:
        return self._reader().execute(sql, args).fetchall()

    def execute_write(self, statements: Callable[[Connection], None]) -> None:
        self._write(statements)


_stores: dict[Path, RunStore] = {}
_stores_lock = threading.Lock()


def store_for_url(url: str, blob_dir: Path | None = None) -> RunStore:
    """A store for a database URL: ``sqlite:///path`` or ``postgresql://user@host:port/db``."""
    return RunStore(dialect_for_url(url, blob_dir))


def open_store(home: Path) -> RunStore:
    """The process-wide store of a FLYTE_HOME (opened once, shared by all runs in the process)."""
    path = (home / "runs.db").resolve()
    with _stores_lock:
        store = _stores.get(path)
        if store is None or not path.exists():
            store = _stores[path] = RunStore(path)
        return store
