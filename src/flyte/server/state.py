"""What the scheduler holds in memory, and the SQL that makes each change of it durable.

Every unfinished action of the server's runs is an :class:`ActiveAction`; a finished action is
dropped from memory once its final state is committed, and read from the run store from then on.
Rows use the run store's own columns (``runs``, ``actions``) so that every reader of the store
(``flyte.remote``, the CLI) understands them, plus the server's ``server_runs``/``server_actions``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import msgpack

from flyte.models import ActionPhase
from flyte.server.feed import Event, phase_event
from flyte.server.models import Action, TaskRef
from flyte.server.writer import Statement

QUEUED, RUNNING, SUCCEEDED = ActionPhase.QUEUED, ActionPhase.RUNNING, ActionPhase.SUCCEEDED
FAILED, ABORTED, TIMED_OUT = ActionPhase.FAILED, ActionPhase.ABORTED, ActionPhase.TIMED_OUT
UNFINISHED = ("queued", "waiting_for_resources", "initializing", "running", "paused")

Key = tuple[str, str]


@dataclass(frozen=True)
class RunSpec:
    """What a run was created with (``server_runs``)."""

    name: str
    task: TaskRef
    env_vars: dict[str, str]
    custom_context: dict[str, str]
    overwrite_cache: bool
    recover_from: str | None
    disable_run_cache: bool = False
    max_action_concurrency: int | None = None
    """At most this many of the run's actions do work at once (rule 4 of the action core)."""
    raw_data_path: str | None = None
    """Where the run's tasks write data (None: the server's default)."""

    def insert(self) -> Statement:
        # the overwrite_cache column holds both cache flags (bit 0: overwrite, bit 1: disable), so
        # that rows of older servers (0 or 1) keep their meaning without a schema change
        flags = int(self.overwrite_cache) | (2 if self.disable_run_cache else 0)
        return (
            "INSERT INTO server_runs (name, task, env_vars, custom_context, overwrite_cache, recover_from,"
            " max_action_concurrency, raw_data_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (self.name, self.task.model_dump_json(), json.dumps(self.env_vars),
             json.dumps(self.custom_context), flags, self.recover_from, self.max_action_concurrency,
             self.raw_data_path),
        )  # fmt: skip

    @classmethod
    def from_row(cls, row: tuple) -> RunSpec:
        name, task, env_vars, custom_context, flags, recover_from, concurrency, raw_data_path = row
        return cls(name, TaskRef.model_validate_json(task), json.loads(env_vars), json.loads(custom_context),
                   bool(int(flags) & 1), recover_from, disable_run_cache=bool(int(flags) & 2),
                   max_action_concurrency=concurrency, raw_data_path=raw_data_path)  # fmt: skip


SPEC_SELECT = (
    "SELECT name, task, env_vars, custom_context, overwrite_cache, recover_from, max_action_concurrency,"
    " raw_data_path FROM server_runs WHERE name = ?"
)


def load_spec(store: Any, run: str) -> RunSpec | None:
    """``run``'s spec from ``server_runs`` (None for an unknown run)."""
    rows = store.execute_read(SPEC_SELECT, (run,))
    return RunSpec.from_row(rows[0]) if rows else None


@dataclass(eq=False)
class ActiveAction:
    """One unfinished action (or one whose final state is being committed)."""

    run: str
    name: str
    parent: str | None
    task: TaskRef
    custom_context: dict[str, str]
    group: str | None
    phase: ActionPhase
    attempts: int
    created_at: float
    started_at: float | None = None
    ended_at: float | None = None
    history: list[list[Any]] = field(default_factory=list)
    failures: int = 0
    """Reported failed attempts (count against the task's ``retries``)."""
    system_failures: int = 0
    """Attempts lost with their worker (count against the server's ``max_system_retries``)."""
    not_before: float = 0.0
    cache_key: str | None = None
    cache_status: str | None = None
    parent_attempt: int = 0
    """The parent's ``attempts`` when this action was created (tells a retried parent's calls apart)."""
    error_type: str | None = None
    error_message: str | None = None
    error_code: str | None = None
    """The error's own ``code`` when it is not its type name (``flyte.errors.own_code``)."""
    worker: str | None = None
    lease_expires: float = 0.0
    token: int = 0
    """Queue entry that is current for this action (older heap entries are skipped)."""
    held: str | None = None
    """What a queued action is held back for, as a ``max_queued_time`` error names it: a slot
    under its run's ``max_action_concurrency``, or the host's resources."""

    @property
    def key(self) -> Key:
        return (self.run, self.name)

    @property
    def attempt(self) -> int:
        """The number of the current (or last) attempt, 0 for the first."""
        return max(0, self.attempts - 1)

    def begin_attempt(self, worker: str, now: float, lease_until: float) -> None:
        """The next attempt starts now, leased to ``worker`` until ``lease_until``."""
        self.attempts += 1
        self.started_at = self.started_at or now
        self.worker, self.lease_expires = worker, lease_until

    def due_at(self) -> float | None:
        """When ``overdue`` will answer, unless the action ends first."""
        return self.task.policy().due_at(self.created_at, self.started_at is not None)

    def overdue(self, now: float, waiting_for: str = "a worker") -> tuple[str, str] | None:
        """(error type, message) once the action broke its ``deadline`` or ``max_queued_time``
        (rules 4 and 6 of the action core); ``waiting_for`` names what a queued action waits for."""
        policy = self.task.policy()
        return policy.overdue(self.name, self.created_at, self.started_at is not None, now, waiting_for)

    def transition(self, phase: ActionPhase, at: float) -> None:
        self.phase = phase
        self.history.append([phase.value, at, self.attempts])

    def to_api(self) -> Action:
        return Action(
            run_name=self.run, name=self.name, parent=self.parent, task_name=self.task.name, group=self.group,
            phase=self.phase.value, attempts=self.attempts, created_at=self.created_at,
            started_at=self.started_at, ended_at=self.ended_at, error_type=self.error_type,
            error_message=self.error_message, error_code=self.error_code, cache_status=self.cache_status,
            history=[(p, at, a) for p, at, a in self.history],
        )  # fmt: skip

    # -- SQL --------------------------------------------------------------------------------------

    def insert(
        self, inputs: tuple[bytes | None, str | None], outputs: tuple[bytes | None, str | None]
    ) -> list:
        """Statements that record a new action (``actions`` + ``server_actions``)."""
        return [
            (
                "INSERT INTO actions (run_name, name, parent, task_name, group_name, phase, attempts,"
                " created_at, started_at, ended_at, inputs, inputs_ref, outputs, outputs_ref, error_type,"
                " error_message, cache_status, history)"
                f" VALUES ({', '.join('?' * 18)})",
                (self.run, self.name, self.parent, self.task.name, self.group, self.phase.value,
                 self.attempts, self.created_at, self.started_at, self.ended_at, inputs[0], inputs[1],
                 outputs[0], outputs[1], self.error_type, self.error_message, self.cache_status,
                 msgpack.packb(self.history)),
            ),
            (
                "INSERT INTO server_actions (run_name, name, task, custom_context, failures, system_failures,"
                " not_before, cache_key, parent_attempt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self.run, self.name, self.task.model_dump_json(), json.dumps(self.custom_context),
                 self.failures, self.system_failures, self.not_before, self.cache_key, self.parent_attempt),
            ),
        ]  # fmt: skip

    def update(self) -> list[Statement]:
        """Statements that record the action's current phase, attempts, times, error and counters."""
        return [
            (
                "UPDATE actions SET phase = ?, attempts = ?, started_at = ?, ended_at = ?, error_type = ?,"
                " error_message = ?, error_code = ?, cache_status = ?, history = ?"
                " WHERE run_name = ? AND name = ?",
                (self.phase.value, self.attempts, self.started_at, self.ended_at, self.error_type,
                 self.error_message, self.error_code, self.cache_status, msgpack.packb(self.history),
                 self.run, self.name),
            ),
            (
                "UPDATE server_actions SET failures = ?, system_failures = ?, not_before = ?,"
                " parent_attempt = ? WHERE run_name = ? AND name = ?",
                (self.failures, self.system_failures, self.not_before, self.parent_attempt, self.run,
                 self.name),
            ),
        ]  # fmt: skip

    def set_outputs(self, outputs: tuple[bytes | None, str | None]) -> Statement:
        return (
            "UPDATE actions SET outputs = ?, outputs_ref = ? WHERE run_name = ? AND name = ?",
            (outputs[0], outputs[1], self.run, self.name),
        )


ACTIVE_SELECT = f"""
SELECT a.run_name, a.name, a.parent, a.group_name, a.phase, a.attempts, a.created_at, a.started_at,
       a.history, a.cache_status, s.task, s.custom_context, s.failures, s.system_failures, s.not_before,
       s.cache_key, s.parent_attempt
FROM actions a JOIN server_actions s ON s.run_name = a.run_name AND s.name = a.name
WHERE a.phase IN ({", ".join(repr(p) for p in UNFINISHED)})
ORDER BY a.created_at
"""


def active_from_row(row: tuple) -> ActiveAction:
    (run, name, parent, group, phase, attempts, created_at, started_at, history, cache_status, task,
     custom_context, failures, system_failures, not_before, cache_key, parent_attempt) = row  # fmt: skip
    return ActiveAction(
        run=run, name=name, parent=parent, task=TaskRef.model_validate_json(task),
        custom_context=json.loads(custom_context), group=group, phase=ActionPhase(phase), attempts=attempts,
        created_at=created_at, started_at=started_at,
        history=[list(h) for h in msgpack.unpackb(bytes(history) if history else b"\x90")],
        failures=failures, system_failures=system_failures, not_before=not_before, cache_key=cache_key,
        cache_status=cache_status, parent_attempt=parent_attempt,
    )  # fmt: skip


def run_insert(
    spec: RunSpec, owner: str, created_at: float, labels: dict[str, str] | None = None
) -> Statement:
    task = spec.task
    return (
        "INSERT INTO runs (name, task_name, phase, created_at, owner, source_run, task_module, task_file,"
        " labels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (spec.name, task.name, QUEUED.value, created_at, owner, spec.recover_from, task.module, task.file,
         json.dumps(labels) if labels else None),
    )  # fmt: skip


def run_phase(name: str, phase: ActionPhase) -> Statement:
    return ("UPDATE runs SET phase = ? WHERE name = ? AND ended_at IS NULL", (phase.value, name))


def run_end(name: str, root: ActiveAction, abort_reason: str | None = None) -> Statement:
    return (
        "UPDATE runs SET phase = ?, ended_at = ?, error_type = ?, error_message = ?,"
        " abort_reason = COALESCE(?, abort_reason) WHERE name = ? AND ended_at IS NULL",
        (root.phase.value, root.ended_at, root.error_type, root.error_message, abort_reason, name),
    )


def action_to_api(record: Any) -> Action:
    """An ``ActionRecord`` of the run store as the API's ``Action``."""
    return Action(
        run_name=record.run_name, name=record.name, parent=record.parent, task_name=record.task_name,
        group=record.group, phase=record.phase.value, attempts=record.attempts, created_at=record.created_at,
        started_at=record.started_at, ended_at=record.ended_at, error_type=record.error_type,
        error_message=record.error_message, error_code=record.error_code, cache_status=record.cache_status,
        history=[(e.phase.value, e.at, e.attempt) for e in record.history],
        report=f"/api/v1/runs/{record.run_name}/actions/{record.name}/report" if record.report_path else None,
        traceback=record.traceback,
    )  # fmt: skip


@dataclass
class Changes:
    """One atomic change of the scheduler's state: its SQL, and what to announce once committed."""

    sql: list[Statement] = field(default_factory=list)
    events: dict[str, list[Event]] = field(default_factory=lambda: defaultdict(list))
    created: list[ActiveAction] = field(default_factory=list)
    """New actions: forgotten again if the change cannot be written."""
    finished: list[ActiveAction] = field(default_factory=list)
    queued: list[ActiveAction] = field(default_factory=list)
    ended_runs: set[str] = field(default_factory=set)
    lease_aborts: list[tuple[str, Key]] = field(default_factory=list)
    """(worker, action) for running actions aborted by this change: their workers are told at once."""

    def transition(self, a: ActiveAction, phase: ActionPhase, now: float) -> None:
        a.transition(phase, now)
        self.events[a.run].append(phase_event(a.name, phase.value, now))
