"""Conditions in the run store: what a paused run waits for, and the typed value that answers it.

The SQL here is shared by local runs and the server.

One row of ``conditions`` per condition, plus one row of ``actions`` for the *condition action*
that stands for it in the run's tree (``flyte get action`` shows it ``paused`` while it waits).
The local engine and the server share this module, so a condition means the same on both:

- a condition is created ``paused``; it ends exactly once, as ``succeeded`` (signaled, with its
  value), ``timed_out`` (its ``timeout`` passed) or ``aborted`` (its run or waiter went away).
  The end is a conditional ``UPDATE ... WHERE phase = 'paused'`` in the same transaction as the
  action row's update: of a signal and a timeout racing, exactly one wins, and the rows agree;
- whoever ends it writes both rows (a ``flyte signal`` process, the waiting run, the server), so
  nobody needs the waiting process to be alive to see the answer recorded;
- values are checked against the condition's ``data_type`` (``bool``, ``int``, ``float``,
  ``str``) by :func:`coerce`, the one place that decides what a signal may carry.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

from flyte.errors import RuntimeDataValidationError
from flyte.models import ActionPhase

DATA_TYPES: dict[str, type] = {"bool": bool, "int": int, "float": float, "str": str}
"""The payload types a condition can declare, by the name stored with it."""

TASK_PREFIX = "condition:"
"""The ``task_name`` of a condition action is this prefix and the condition's name."""

PAUSED = ActionPhase.PAUSED
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


class _Store(Protocol):
    def execute_read(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple]: ...

    def execute_write(self, statements: Any) -> None: ...


def type_name(data_type: type) -> str:
    """The stored name of ``data_type`` (``bool``, ``int``, ``float`` or ``str``)."""
    for name, cls in DATA_TYPES.items():
        if data_type is cls:
            return name
    raise TypeError(
        f"data_type must be one of bool, int, float, str; got {getattr(data_type, '__name__', data_type)!r}"
    )


def coerce(value: Any, data_type: str, condition: str) -> bool | int | float | str:
    """``value`` as the condition's ``data_type``; text (from a CLI or a form) is parsed.

    A value that is not of the type (``"maybe"`` for a bool, ``3.5`` for an int, ``True`` for an
    int) raises ``flyte.errors.RuntimeDataValidationError`` naming the condition and the type.
    """

    def wrong(why: str = "") -> RuntimeDataValidationError:
        got = f"{value!r} ({type(value).__name__})"
        article = "an" if data_type == "int" else "a"
        return RuntimeDataValidationError(
            "value", f"condition '{condition}' expects {article} {data_type} value, got {got}{why}"
        )

    if data_type == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise wrong("; use true or false")
    if data_type == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                raise wrong() from None
        raise wrong()
    if data_type == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise wrong() from None
        else:
            raise wrong()
        if not math.isfinite(number):
            raise wrong("; it must be finite")
        return number
    if data_type == "str":
        if isinstance(value, str):
            return value
        raise wrong()
    raise RuntimeDataValidationError(
        "data_type", f"condition '{condition}' has an unknown type {data_type!r}"
    )


@dataclass(frozen=True)
class ConditionRecord:
    """One condition as recorded."""

    run_name: str
    action: str
    """The condition action's name (unique in the run)."""
    parent: str
    """The action that created the condition (and waits for it)."""
    name: str
    prompt: str
    prompt_type: str
    description: str
    data_type: str
    timeout: float | None
    created_at: float
    phase: ActionPhase
    value: Any = None
    resolved_at: float | None = None
    resolved_by: str | None = None
    webhook: dict[str, Any] | None = None

    @property
    def deadline(self) -> float | None:
        return None if self.timeout is None else self.created_at + self.timeout

    def overdue(self, now: float) -> bool:
        deadline = self.deadline
        return self.phase is PAUSED and deadline is not None and now >= deadline

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (API answers, ``flyte get condition -of json``); keys are stable."""
        return {
            "run_name": self.run_name,
            "action": self.action,
            "parent": self.parent,
            "name": self.name,
            "prompt": self.prompt,
            "prompt_type": self.prompt_type,
            "description": self.description,
            "data_type": self.data_type,
            "timeout": self.timeout,
            "created_at": self.created_at,
            "phase": self.phase.value,
            "value": self.value,
            "resolved_at": self.resolved_at,
            "resolved_by": self.resolved_by,
        }


_COLUMNS = (
    "run_name, action, parent, name, prompt, prompt_type, description, data_type, timeout, created_at,"
    " phase, value, resolved_at, resolved_by, webhook"
)


def _record(row: tuple) -> ConditionRecord:
    (run, action, parent, name, prompt, prompt_type, description, data_type, timeout, created_at, phase,
     value, resolved_at, resolved_by, webhook) = row  # fmt: skip
    return ConditionRecord(
        run, action, parent, name, prompt, prompt_type, description, data_type, timeout, created_at,
        ActionPhase(phase), json.loads(value) if value is not None else None, resolved_at, resolved_by,
        json.loads(webhook) if webhook else None,
    )  # fmt: skip


def get_condition(store: _Store, run: str, action: str) -> ConditionRecord | None:
    rows = store.execute_read(
        f"SELECT {_COLUMNS} FROM conditions WHERE run_name = ? AND action = ?", (run, action)
    )
    return _record(rows[0]) if rows else None


def list_conditions(store: _Store, run: str, parent: str | None = None) -> list[ConditionRecord]:
    """The conditions of ``run`` (of one parent action when given), oldest first."""
    sql, args = f"SELECT {_COLUMNS} FROM conditions WHERE run_name = ?", [run]
    if parent is not None:
        sql, args = sql + " AND parent = ?", [*args, parent]
    return [_record(r) for r in store.execute_read(sql + " ORDER BY created_at, action", tuple(args))]


def find_condition(store: _Store, run: str, key: str) -> ConditionRecord | None:
    """The condition whose action is ``key``, else the one *named* ``key``, else the newest of
    several of that name that still waits (None when there is none)."""
    found = get_condition(store, run, key)
    if found is not None:
        return found
    named = [c for c in list_conditions(store, run) if c.name == key]
    waiting = [c for c in named if c.phase is PAUSED]
    if waiting:
        return waiting[-1]
    return named[-1] if named else None


def _history(*events: tuple[str, float]) -> bytes:
    import msgpack  # deferred: ``flyte.new_condition`` is imported with ``flyte``

    return msgpack.packb([[phase, at, 0] for phase, at in events])


def insert_condition(
    store: _Store, rec: ConditionRecord, group: str | None = None
) -> tuple[ConditionRecord, bool]:
    """Record ``rec`` and its condition action; (the existing one, False) if its action exists.

    A recreated condition (a retried parent, or a recovered run replaying an answered one) is
    therefore the same condition: an answer already given is kept, not asked for again.
    """
    created: list[bool] = []
    done = rec.phase is not PAUSED
    history = (
        _history((PAUSED.value, rec.created_at), (rec.phase.value, rec.resolved_at or rec.created_at))
        if done
        else _history((PAUSED.value, rec.created_at))
    )

    def write(conn: Any) -> None:
        exists = conn.execute(
            "SELECT 1 FROM conditions WHERE run_name = ? AND action = ?", (rec.run_name, rec.action)
        ).fetchone()
        if exists:
            created.append(False)
            return
        conn.execute(
            f"INSERT INTO conditions ({_COLUMNS}) VALUES ({', '.join('?' * 15)})",
            (rec.run_name, rec.action, rec.parent, rec.name, rec.prompt, rec.prompt_type, rec.description,
             rec.data_type, rec.timeout, rec.created_at, rec.phase.value,
             None if rec.value is None else json.dumps(rec.value), rec.resolved_at, rec.resolved_by,
             json.dumps(rec.webhook) if rec.webhook else None),
        )  # fmt: skip
        conn.execute(
            "INSERT INTO actions (run_name, name, parent, task_name, group_name, phase, attempts, created_at,"
            " started_at, ended_at, cache_status, history) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (run_name, name) DO NOTHING",
            (rec.run_name, rec.action, rec.parent, TASK_PREFIX + rec.name, group, rec.phase.value, 1,
             rec.created_at, rec.created_at, rec.resolved_at if done else None,
             "recovered" if done else None, history),
        )  # fmt: skip
        created.append(True)

    store.execute_write(write)
    if created[0]:
        return rec, True
    existing = get_condition(store, rec.run_name, rec.action)
    assert existing is not None
    return existing, False


def resolve(
    store: _Store,
    rec: ConditionRecord,
    phase: ActionPhase,
    *,
    value: Any = None,
    by: str = "",
    error: tuple[str, str] | None = None,
) -> bool:
    """End ``rec`` in ``phase`` if it still waits (both rows, one transaction); False otherwise."""
    now = time.time()
    won: list[bool] = []
    error_type, message = error if error is not None else (None, None)

    def write(conn: Any) -> None:
        cur = conn.execute(
            "UPDATE conditions SET phase = ?, value = ?, resolved_at = ?, resolved_by = ?"
            " WHERE run_name = ? AND action = ? AND phase = ?",
            (phase.value, None if value is None else json.dumps(value), now, by, rec.run_name, rec.action,
             PAUSED.value),
        )  # fmt: skip
        won.append(cur.rowcount == 1)
        if cur.rowcount == 1:
            conn.execute(
                "UPDATE actions SET phase = ?, ended_at = ?, error_type = ?, error_message = ?, history = ?"
                " WHERE run_name = ? AND name = ?",
                (phase.value, now, error_type, message,
                 _history((PAUSED.value, rec.created_at), (phase.value, now)), rec.run_name, rec.action),
            )  # fmt: skip

    store.execute_write(write)
    return won[0]


def timeout_message(rec: ConditionRecord) -> str:
    return (
        f"Condition '{rec.name}' (action '{rec.action}' of run '{rec.run_name}') was not signaled "
        f"within its timeout of {rec.timeout:g}s"
    )


def expire(store: _Store, rec: ConditionRecord, now: float | None = None) -> ConditionRecord:
    """``rec`` as it is now: ended as ``timed_out`` first when its deadline has passed."""
    if not rec.overdue(time.time() if now is None else now):
        return rec
    resolve(
        store,
        rec,
        ActionPhase.TIMED_OUT,
        by="timeout",
        error=("ConditionTimedoutError", timeout_message(rec)),
    )
    return get_condition(store, rec.run_name, rec.action) or rec


def refresh(store: Any, rec: ConditionRecord) -> ConditionRecord:
    """``rec`` as it is now: a due timeout applied, and a condition whose run has ended (its
    process died, or the run was aborted) ended as ``aborted`` (nobody can wait for it any more).
    ``store`` is a ``RunStore`` (it also answers ``get_run``)."""
    rec = expire(store, rec)
    if rec.phase is PAUSED:
        run = store.get_run(rec.run_name)
        if run is not None and run.ended_at is not None:
            reason = f"run '{rec.run_name}' ended while condition '{rec.name}' waited"
            resolve(store, rec, ActionPhase.ABORTED, by="its run ended", error=("ActionAbortedError", reason))
            rec = get_condition(store, rec.run_name, rec.action) or rec
    return rec


def abort_waiting(store: _Store, run: str, reason: str) -> None:
    """End every condition of ``run`` that still waits as ``aborted`` (its run has ended)."""
    for rec in list_conditions(store, run):
        if rec.phase is PAUSED:
            resolve(store, rec, ActionPhase.ABORTED, by="run ended", error=("ActionAbortedError", reason))
