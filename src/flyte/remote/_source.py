"""``RunSource``: the one read interface under ``flyte.remote.Run`` / ``Action`` and ``flyte get``.

A source answers questions about recorded runs with the run store's frozen records
(``RunRecord``, ``ActionRecord``, ``LogRecord``, ``TraceRecord``), whoever keeps them:

- ``StoreSource`` (``flyte.remote._local_source``): the local run store under ``$FLYTE_HOME``;
- ``TreeSource`` (same module): the in-memory action tree of a run this process just executed;
- ``HttpSource`` (``flyte.remote._records``): a control plane's HTTP API.

The handles and the CLI are written once against this protocol; which source they get is decided
once, where they are made (:func:`flyte.remote._run.default_source`), never in a property.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from flyte._internal.store.records import ActionRecord, LogRecord, RunRecord, TraceRecord
from flyte.models import ActionPhase

WATCH_POLL_SECONDS = 0.2
"""How often :func:`poll_watch` re-reads a source that cannot push changes."""


@dataclass(frozen=True)
class RunEvent:
    """A phase change of an action, or a log line it printed (``Run.watch``)."""

    seq: int
    kind: Literal["phase", "log"]
    action: str
    at: float
    phase: str | None = None
    line: str | None = None
    stream: str | None = None


class RunSource(Protocol):
    """Where runs are read from: every read the handles and ``flyte get`` make."""

    @property
    def label(self) -> str:
        """Where the records come from, for messages: ``the local store in ...``."""
        ...

    def run_url(self, name: str) -> str:
        """The address a user opens to see run ``name``."""
        ...

    def get_run(self, name: str) -> RunRecord | None: ...

    def list_runs(
        self,
        *,
        phases: Iterable[ActionPhase] = (),
        task_name: str | None = None,
        limit: int = 100,
        labels: dict[str, str] | None = None,
    ) -> list[RunRecord]:
        """Runs, newest first; ``labels`` keeps the runs carrying all of them."""
        ...

    def get_action(self, run_name: str, name: str) -> ActionRecord | None: ...

    def list_actions(self, run_name: str) -> list[ActionRecord]:
        """Every action of a run, parents before their children."""
        ...

    def action_io(self, run_name: str, name: str) -> tuple[bytes | None, bytes | None]:
        """The encoded inputs and outputs of an action (None where there are none)."""
        ...

    def get_logs(self, run_name: str, action: str | None = None) -> list[LogRecord]: ...

    def get_traces(self, run_name: str, action: str | None = None) -> list[TraceRecord]: ...

    def read_report(self, action: ActionRecord) -> bytes | None:
        """The HTML of the action's report, or None when it wrote none (or it is gone)."""
        ...

    def checkpoints(self, action: ActionRecord) -> list[str]:
        """Paths of the checkpoints the action left (sources without local files: none)."""
        ...

    def error_of(self, action: ActionRecord, near: Sequence[str] = ()) -> BaseException | None:
        """The exception a failed, timed-out or aborted action stands for; None otherwise.
        ``near``: modules whose exception classes a recorded type name may be rebuilt from."""
        ...

    def wait_action(self, run_name: str, name: str, timeout: float) -> ActionRecord | None:
        """The action once it has ended, or as it is after at most ``timeout`` seconds."""
        ...

    def watch(self, run_name: str) -> Iterator[RunEvent]:
        """Phase changes and log lines of every action of the run as they happen, until it ends."""
        ...

    def request_abort(self, name: str, reason: str) -> bool:
        """Ask for the run to stop; False when it is not running."""
        ...

    def request_action_abort(self, run_name: str, action: str, reason: str) -> bool:
        """Ask for one action (and what runs under it) to stop; False when it is not running."""
        ...


def action_as_dict(record: ActionRecord) -> dict[str, object]:
    """The fields :func:`flyte._internal.controllers._wire.error_of` reads, from a record."""
    return {
        "name": record.name,
        "task_name": record.task_name,
        "phase": record.phase.value,
        "error_type": record.error_type,
        "error_message": record.error_message,
        "error_code": record.error_code,
    }


def recorded_error(record: ActionRecord, near: Sequence[str] = ()) -> BaseException | None:
    """The exception an unsuccessful ended action stands for, rebuilt from its record."""
    if not record.phase.is_terminal or record.phase is ActionPhase.SUCCEEDED:
        return None
    from flyte._internal.controllers._wire import error_of

    return error_of(action_as_dict(record), near=near)


def poll_wait(source: RunSource, run_name: str, name: str, timeout: float) -> ActionRecord | None:
    """``wait_action`` for sources that cannot be told of changes: re-read until ended or timeout."""
    deadline = time.monotonic() + timeout
    while True:
        record = source.get_action(run_name, name)
        if record is None or record.phase.is_terminal or time.monotonic() >= deadline:
            return record
        time.sleep(min(WATCH_POLL_SECONDS, max(0.0, deadline - time.monotonic())))


def poll_watch(source: RunSource, run_name: str) -> Iterator[RunEvent]:
    """``watch`` for sources that cannot push: compare successive reads of the actions and logs.

    Every phase an action was seen in and every new log line become events, in the order the
    source recorded them; the iteration ends once the root action has ended and was reported.
    """
    seq = 0
    phases: dict[str, ActionPhase] = {}
    logs_seen = 0
    while True:
        actions = source.list_actions(run_name)
        events: list[RunEvent] = []
        for action in actions:
            if phases.get(action.name) is not action.phase:
                phases[action.name] = action.phase
                at = action.history[-1].at if action.history else action.created_at
                events.append(RunEvent(0, "phase", action.name, at, phase=action.phase.value))
        logs = source.get_logs(run_name)
        for log in logs[logs_seen:]:
            events.append(RunEvent(0, "log", log.action, log.at, line=log.line, stream=log.stream))
        logs_seen = len(logs)
        for event in events:
            seq += 1
            yield RunEvent(seq, event.kind, event.action, event.at, event.phase, event.line, event.stream)
        root = phases.get("a0")
        if root is not None and root.is_terminal:
            return
        if not actions and source.get_run(run_name) is None:
            return  # no such run: nothing will ever happen
        time.sleep(WATCH_POLL_SECONDS)
