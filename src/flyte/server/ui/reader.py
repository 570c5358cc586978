"""The console's one read layer: what its pages ask of a run store, answered in a few queries each.

Both consoles read through :class:`ConsoleReader`: the control plane's over its PostgreSQL or
SQLite store, ``flyte start ui`` over the local store of ``$FLYTE_HOME``; both are
:class:`~flyte._internal.store.RunStore` objects, so the SQL below is written once, in the store's
portable dialect (``?`` placeholders, no vendor functions).

Sizes the pages must survive: 10,000 runs and 10,000 children of one action. So runs are paged by
a keyset (``created_at``, ``name``) instead of an offset, a parent's children are summarised by
one ``GROUP BY`` into *groups* (the children sharing a task and a ``flyte.group``), and the
members of a group are fetched a page at a time when the user opens it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flyte._internal.store import ActionRecord, LogRecord, RunRecord, RunStore, TraceRecord
from flyte.models import ActionPhase
from flyte.types import TypeEngine

RUNS_PAGE = 50
MEMBERS_PAGE = 100
LOGS_PAGE = 2000
SINGLE_QUERIES = 20
"""Up to this many groups of one are read one query each; more, with one query for all children."""
SINCE_SECONDS = {"1h": 3600.0, "24h": 86400.0, "7d": 7 * 86400.0, "30d": 30 * 86400.0}
"""The time filters of the runs page: runs created within this many seconds."""


def _like(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere, its wildcards escaped (with ``ESCAPE '\\'``)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def encode_cursor(created_at: float, name: str) -> str:
    """A keyset cursor: the sort key of the last row shown (``repr`` keeps the float exact)."""
    return f"{created_at!r}~{name}"


def decode_cursor(cursor: str | None) -> tuple[float, str] | None:
    """The sort key in ``cursor``, or None for a missing or malformed one (the first page)."""
    if not cursor or "~" not in cursor:
        return None
    at, _, name = cursor.partition("~")
    try:
        return float(at), name
    except ValueError:
        return None


@dataclass(frozen=True)
class RunFilter:
    """What the runs page shows: phases, a task (exact or its short name), a time window, a search."""

    phases: tuple[ActionPhase, ...] = ()
    task: str | None = None
    since: str | None = None
    """A key of :data:`SINCE_SECONDS`, or None for all time."""
    search: str | None = None
    """Part of the run's name."""


@dataclass(frozen=True)
class RunsPage:
    runs: list[RunRecord]
    next_cursor: str | None
    """Where the next (older) page starts; None on the last page."""


@dataclass
class ChildGroup:
    """The children of one parent that share a task and a group: one row of the tree.

    A group of one is shown as its action (``single``); a bigger one collapsed, with its counts.
    """

    parent: str
    task_name: str
    group: str | None
    counts: dict[ActionPhase, int] = field(default_factory=dict)
    first_created: float = 0.0
    started_at: float | None = None
    ended_at: float | None = None
    single: ActionRecord | None = None

    @property
    def size(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        return sum(n for p, n in self.counts.items() if p.is_terminal)

    @property
    def key(self) -> str:
        """Identifies the group among its parent's children (for the page's URLs)."""
        group = self.group or ""
        return f"{len(group)}:{group}{self.task_name}"

    @property
    def phase(self) -> ActionPhase:
        """The phase the group is shown in: the first of failed, running..., else the most common."""
        for wanted in (ActionPhase.FAILED, ActionPhase.TIMED_OUT, ActionPhase.RUNNING, ActionPhase.ABORTED):
            if self.counts.get(wanted):
                return wanted
        if self.done < self.size:
            return ActionPhase.QUEUED
        return ActionPhase.SUCCEEDED


def split_group_key(key: str) -> tuple[str | None, str]:
    """(group, task) of a :attr:`ChildGroup.key` (``"<length of group>:<group><task>"``)."""
    size, _, rest = key.partition(":")
    n = int(size) if size.isdigit() else 0
    return (rest[:n] or None), rest[n:]


@dataclass(frozen=True)
class Attempt:
    """One attempt of an action, reconstructed from its phase history."""

    number: int
    started_at: float | None
    ended_at: float | None
    phase: ActionPhase


def attempts_of(action: ActionRecord) -> list[Attempt]:
    """The attempts in ``action.history``: each from its first event to its last."""
    found: dict[int, list[Any]] = {}
    for event in action.history:
        if event.attempt <= 0:  # queued before the first attempt
            continue
        entry = found.setdefault(event.attempt, [event.at, None, event.phase])
        entry[2] = event.phase
        if event.phase.is_terminal or event.phase is ActionPhase.QUEUED:
            entry[1] = event.at
    return [Attempt(n, s, e, p) for n, (s, e, p) in sorted(found.items())]


def decode_value(data: bytes | None) -> dict[str, Any] | None:
    """Encoded named values as JSON-like data, or None when there are none."""
    if data is None:
        return None
    try:
        shown = TypeEngine.to_jsonable(data)
    except Exception as e:  # show what can be shown instead of failing the page
        return {"<undecodable>": f"cannot decode: {e}"}
    return shown if isinstance(shown, dict) else {"o0": shown}


def blob_refs(value: Any) -> set[str]:
    """Every ``path`` / ``uri`` of a File, Dir or DataFrame inside a decoded value."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            kind = ref_kind(item)
            if kind is not None:
                found.add(str(item.get("path") or item.get("uri")))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


_FILE_KEYS = frozenset({"path", "name", "format", "hash"})
_FRAME_KEYS = frozenset({"uri", "format", "hash"})


def ref_kind(item: dict[str, Any]) -> str | None:
    """``"file"`` (a File or Dir), ``"dataframe"``, or None: what a decoded dict stands for.

    These are the wire forms of ``flyte.io`` (see ``flyte/io/_converters.py``); a record that
    happens to have the same fields is shown as a link too, which is harmless.
    """
    keys = item.keys()
    if isinstance(item.get("path"), str) and keys <= _FILE_KEYS and len(keys) >= 2:
        return "file"
    if isinstance(item.get("uri"), str) and keys <= _FRAME_KEYS and len(keys) >= 2:
        return "dataframe"
    return None


class ConsoleReader:
    """The reads of the console's pages over one run store (never writes)."""

    def __init__(self, store: RunStore):
        self.store = store

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        return self.store.execute_read(sql, tuple(args))

    # -- runs ------------------------------------------------------------------------------------

    def runs_page(self, flt: RunFilter, cursor: str | None = None, limit: int = RUNS_PAGE) -> RunsPage:
        """Runs newest first from ``cursor`` on, ``limit`` of them, and the next page's cursor."""
        where, args = self._run_filter(flt)
        after = decode_cursor(cursor)
        if after is not None:
            where.append("(created_at < ? OR (created_at = ? AND name < ?))")
            args.extend([after[0], after[0], after[1]])
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._read(
            f"SELECT {RunStore._RUN_COLUMNS} FROM runs {clause} ORDER BY created_at DESC, name DESC LIMIT ?",
            (*args, limit + 1),
        )
        runs = [RunStore._run(r) for r in rows[:limit]]
        more = len(rows) > limit and runs
        return RunsPage(runs, encode_cursor(runs[-1].created_at, runs[-1].name) if more else None)

    @staticmethod
    def _run_filter(flt: RunFilter) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        args: list[Any] = []
        if flt.phases:
            where.append(f"phase IN ({', '.join('?' * len(flt.phases))})")
            args.extend(p.value for p in flt.phases)
        if flt.task:
            where.append("(task_name = ? OR task_name LIKE ? ESCAPE '\\')")
            args.extend([flt.task, "%." + _like(flt.task)[1:-1]])
        if flt.since in SINCE_SECONDS:
            where.append("created_at >= ?")
            args.append(time.time() - SINCE_SECONDS[flt.since])
        if flt.search:
            where.append("name LIKE ? ESCAPE '\\'")
            args.append(_like(flt.search))
        return where, args

    def newer_runs(self, flt: RunFilter, created_at: float) -> int:
        """How many runs matching ``flt`` were created after ``created_at`` (the "new runs" banner)."""
        where, args = self._run_filter(flt)
        where.append("created_at > ?")
        return self._read(f"SELECT COUNT(*) FROM runs WHERE {' AND '.join(where)}", (*args, created_at))[0][0]

    def run_states(self, names: Iterable[str]) -> dict[str, RunRecord]:
        """The current records of the named runs (for live phase updates of a page of runs)."""
        wanted = list(dict.fromkeys(names))[:500]
        if not wanted:
            return {}
        marks = ", ".join("?" * len(wanted))
        rows = self._read(f"SELECT {RunStore._RUN_COLUMNS} FROM runs WHERE name IN ({marks})", wanted)
        return {r.name: r for r in map(RunStore._run, rows)}

    def task_names(self, limit: int = 200) -> list[str]:
        """Task names that have runs, for the task filter."""
        rows = self._read("SELECT DISTINCT task_name FROM runs ORDER BY task_name LIMIT ?", (limit,))
        return [r[0] for r in rows]

    def get_run(self, name: str) -> RunRecord | None:
        return self.store.get_run(name)

    # -- actions ---------------------------------------------------------------------------------

    def get_action(self, run: str, name: str) -> ActionRecord | None:
        return self.store.get_action(run, name)

    def phase_counts(self, run: str) -> dict[ActionPhase, int]:
        """How many of the run's actions are in each phase."""
        rows = self._read("SELECT phase, COUNT(*) FROM actions WHERE run_name = ? GROUP BY phase", (run,))
        return {ActionPhase(p): n for p, n in rows}

    def parents(self, run: str) -> set[str]:
        """The actions of the run that have children (they get an expand button)."""
        rows = self._read(
            "SELECT DISTINCT parent FROM actions WHERE run_name = ? AND parent IS NOT NULL", (run,)
        )
        return {r[0] for r in rows}

    def child_groups(self, run: str, parent: str) -> list[ChildGroup]:
        """The children of ``parent`` as groups, in the order their first member was created.

        One aggregate query, plus one query for the actions of the groups of one.
        """
        rows = self._read(
            "SELECT group_name, task_name, phase, COUNT(*), MIN(created_at), MIN(started_at), MAX(ended_at)"
            " FROM actions WHERE run_name = ? AND parent = ? GROUP BY group_name, task_name, phase",
            (run, parent),
        )
        groups: dict[tuple[str | None, str], ChildGroup] = {}
        for group, task, phase, count, created, started, ended in rows:
            g = groups.get((group, task))
            if g is None:
                g = groups[(group, task)] = ChildGroup(parent, task, group, first_created=created)
            g.counts[ActionPhase(phase)] = count
            g.first_created = min(g.first_created, created)
            if started is not None:
                g.started_at = started if g.started_at is None else min(g.started_at, started)
            if ended is not None:
                g.ended_at = ended if g.ended_at is None else max(g.ended_at, ended)
        ordered = sorted(groups.values(), key=lambda g: g.first_created)
        singles = {(g.group, g.task_name): g for g in ordered if g.size == 1}
        if len(singles) > SINGLE_QUERIES:  # many groups of one: one query for all the children
            chosen = self._actions("parent = ?", (parent,), run, limit=None)
        else:  # a few: one indexed query each, never reading the members of a big fan-out
            where = "parent = ? AND task_name = ? AND COALESCE(group_name, '') = ?"
            chosen = [
                a
                for group, task in singles
                for a in self._actions(where, (parent, task, group or ""), run, 1)
            ]
        for action in chosen:
            single = singles.get((action.group, action.task_name))
            if single is not None:
                single.single = action
        return ordered

    def _actions(self, where: str, args: Sequence[Any], run: str, limit: int | None) -> list[ActionRecord]:
        sql = f"SELECT {RunStore._ACTION_COLUMNS} FROM actions WHERE run_name = ? AND {where}"
        params: list[Any] = [run, *args]
        sql += " ORDER BY created_at, name"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [RunStore._action(r) for r in self._read(sql, params)]

    def group_members(
        self,
        run: str,
        parent: str,
        group_key: str,
        cursor: str | None = None,
        phase: ActionPhase | None = None,
        limit: int = MEMBERS_PAGE,
    ) -> tuple[list[ActionRecord], str | None]:
        """One page of a group's actions in creation order (optionally one phase), and the next cursor."""
        group, task = split_group_key(group_key)
        where = "parent = ? AND task_name = ? AND COALESCE(group_name, '') = ?"
        args: list[Any] = [parent, task, group or ""]
        if phase is not None:
            where += " AND phase = ?"
            args.append(phase.value)
        after = decode_cursor(cursor)
        if after is not None:
            where += " AND (created_at > ? OR (created_at = ? AND name > ?))"
            args.extend([after[0], after[0], after[1]])
        found = self._actions(where, args, run, limit=limit + 1)
        page = found[:limit]
        more = len(found) > limit and page
        return page, encode_cursor(page[-1].created_at, page[-1].name) if more else None

    def action_states(self, run: str, names: Iterable[str]) -> list[ActionRecord]:
        """The current records of the named actions (live updates of the rows on screen)."""
        wanted = list(dict.fromkeys(names))[:1000]
        if not wanted:
            return []
        return self._actions(f"name IN ({', '.join('?' * len(wanted))})", wanted, run, limit=None)

    # -- one action's details ------------------------------------------------------------------------

    def action_io(self, run: str, name: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        inputs, outputs = self.store.action_io(run, name)
        return decode_value(inputs), decode_value(outputs)

    def logs(
        self, run: str, action: str, after: int = 0, limit: int = LOGS_PAGE
    ) -> list[tuple[int, LogRecord]]:
        """Log lines of the action written after line id ``after``, with their ids (for tailing)."""
        rows = self._read(
            "SELECT id, run_name, action, attempt, stream, at, line FROM logs"
            " WHERE run_name = ? AND action = ? AND id > ? ORDER BY id LIMIT ?",
            (run, action, after, limit),
        )
        return [(r[0], LogRecord(*r[1:])) for r in rows]

    def logs_tail(
        self, run: str, action: str, limit: int = LOGS_PAGE
    ) -> tuple[list[tuple[int, LogRecord]], int]:
        """The last ``limit`` log lines of the action (oldest first) and how many it has in all."""
        total = self._read("SELECT COUNT(*) FROM logs WHERE run_name = ? AND action = ?", (run, action))[0][0]
        rows = self._read(
            "SELECT id, run_name, action, attempt, stream, at, line FROM logs"
            " WHERE run_name = ? AND action = ? ORDER BY id DESC LIMIT ?",
            (run, action, limit),
        )
        return [(r[0], LogRecord(*r[1:])) for r in reversed(rows)], total

    def traces(self, run: str, action: str) -> list[TraceRecord]:
        return self.store.get_traces(run, action)
