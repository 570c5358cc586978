"""Run and Action handles: the object ``flyte.run`` returns, and lookups of recorded runs.

A handle is a name, a ``RunSource`` (``flyte.remote._source``) and the last record read from
it. The source is the run store of this machine, the action tree of a run this process has just
executed, or a control plane's HTTP API; the handle's code is the same for all three, so a
property means the same thing wherever the run was executed. Records of unfinished actions are
read again on each access; ended ones never change and are kept.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from flyte._initialize import get_init_config
from flyte._internal.redaction import redact_error
from flyte._internal.run_config import flyte_home
from flyte._internal.store import ActionRecord, RunRecord
from flyte._syncify import blocking_classmethod, syncify
from flyte.errors import ActionNotFoundError, RuntimeUserError, user_error_of
from flyte.models import ActionPhase
from flyte.remote._data import ActionInputs, ActionOutputs, ordered_outputs
from flyte.remote._source import RunEvent, RunSource
from flyte.types import TypeEngine

if TYPE_CHECKING:
    from flyte._task import TaskTemplate

WAIT_POLL_SECONDS = 30.0
"""Longest single wait handed to ``RunSource.wait_action`` (a long poll on a control plane)."""
RUNNING_POLL_SECONDS = 0.1
"""How often ``wait(wait_for="running")`` looks again: a source tells when actions end, not start."""


def default_source() -> RunSource:
    """The source ``Run.get`` / ``Run.listall`` read: the control plane ``flyte.init`` named,
    else the run store of ``$FLYTE_HOME``."""
    if get_init_config().is_remote:
        from flyte.remote._records import HttpSource  # the HTTP client loads only for remote reads
        from flyte.remote._remote_run import client_from_config

        return HttpSource(client_from_config())
    from flyte._internal.store import open_store
    from flyte.remote._local_source import StoreSource

    home = flyte_home()
    return StoreSource(open_store(home), home)


def _untyped(data: bytes | None) -> dict[str, Any]:
    values = TypeEngine.decode_values(data, {}) if data else {}
    values.pop("_artifacts", None)  # flyte.artifacts records, not an output
    return values


def _error_message(error_type: str | None, message: str | None) -> str | None:
    return None if error_type is None else f"{error_type}: {message}"


def _near(task: TaskTemplate | None) -> tuple[str, ...]:
    """Modules a recorded error's class may be found in (the task's own module)."""
    module = getattr(getattr(task, "func", None), "__module__", None)
    return (module,) if module else ()


def _decode_outputs(data: bytes | None, task: TaskTemplate | None) -> ActionOutputs:
    """Encoded outputs as the tuple users read: typed and named by ``task`` when it is known."""
    if task is None:
        return ordered_outputs(_untyped(data))
    declared = task.interface.outputs
    if not declared:  # as the reference's local runs: a task returning None gives (None,)
        return ActionOutputs((None,))
    values = TypeEngine.decode_values(data, declared) if data else {}
    names = list(declared)
    return ActionOutputs(tuple(values.get(k) for k in names), names=names if names[0] != "o0" else None)


class Action:
    """One action of a run: name, task, phase, attempts, timing, and its inputs and outputs."""

    def __init__(self, source: RunSource, record: ActionRecord, task: TaskTemplate | None = None):
        self._source = source
        self._record = record
        self._task = task
        """The action's task when this process knows it (the root of a run it started)."""

    @blocking_classmethod
    def get(cls: type[Action], run_name: str, name: str) -> Action:
        """A recorded action; raises ``flyte.errors.ActionNotFoundError`` when there is none."""
        source = default_source()
        record = source.get_action(run_name, name)
        if record is None:
            raise ActionNotFoundError(f"Run '{run_name}' has no action named '{name}' in {source.label}")
        return cls(source, record)

    @property
    def record(self) -> ActionRecord:
        """The action as last read (read again while it has not ended)."""
        if not self._record.phase.is_terminal:
            self._record = self._source.get_action(self._record.run_name, self._record.name) or self._record
        return self._record

    @property
    def run_name(self) -> str:
        return self._record.run_name

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def task_name(self) -> str:
        return self._record.task_name

    @property
    def group(self) -> str | None:
        return self._record.group

    @property
    def phase(self) -> ActionPhase:
        return self.record.phase

    @property
    def attempts(self) -> int:
        return self.record.attempts

    @property
    def cache_status(self) -> str | None:
        return self.record.cache_status

    @property
    def error(self) -> BaseException | None:
        """The exception the action ended with (rebuilt from its type name and message when the
        run was executed elsewhere); None unless it failed, timed out or was aborted."""
        return self._source.error_of(self.record, _near(self._task))

    @property
    def error_message(self) -> str | None:
        record = self.record
        return _error_message(record.error_type, record.error_message)

    @property
    def duration(self) -> float | None:
        """Seconds from its start to its end (or to now, while it runs); None before it starts."""
        record = self.record
        if record.started_at is None:
            return None
        return (record.ended_at or time.time()) - record.started_at

    @property
    def report_path(self) -> str | None:
        """Where the HTML report of a ``report=True`` task is (a path, or the server's URL of it)."""
        return self.record.report_path

    def done(self) -> bool:
        return self.phase.is_terminal

    @property
    def children(self) -> list[Action]:
        found = self._source.list_actions(self.run_name)
        return [Action(self._source, r) for r in found if r.parent == self.name]

    def inputs(self) -> ActionInputs:
        """The action's inputs by name (typed when this process has the task, else as decoded
        without its types)."""
        data = self._source.action_io(self.run_name, self.name)[0]
        if self._task is not None and data:
            from flyte._internal.runtime.convert import decode_inputs

            return ActionInputs(decode_inputs(self._task, data))
        return ActionInputs(_untyped(data))

    def outputs(self) -> ActionOutputs:
        """The action's outputs as a tuple; raises if it has not succeeded."""
        phase = self.phase
        if phase is not ActionPhase.SUCCEEDED:
            raise RuntimeUserError("NoOutputs", f"Action '{self.name}' has no outputs: it is {phase.value}")
        return _decode_outputs(self._source.action_io(self.run_name, self.name)[1], self._task)

    def logs(self) -> list[str]:
        """Captured stdout, stderr and logging lines of the action, in order."""
        return [f"[{r.stream}] {r.line}" for r in self._source.get_logs(self.run_name, self.name)]

    @blocking_classmethod
    def listall(
        cls: type[Action],
        for_run_name: str,
        in_phase: tuple[ActionPhase | str, ...] | None = None,
        sort_by: Any = None,
    ) -> Iterator[Action]:
        """The actions of run ``for_run_name`` (parents before children), optionally only those in
        the given phases; ``sort_by`` is accepted for compatibility."""
        wanted = {ActionPhase(p) for p in in_phase or ()}
        for action in Run.get(for_run_name).actions():
            if not wanted or action.phase in wanted:
                yield action

    def _wait_sync(self, wait_for: str, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        what = f"Action '{self.name}' of run '{self.run_name}'"
        while True:
            phase = self.phase
            if phase.is_terminal or (wait_for == "running" and phase is not ActionPhase.QUEUED):
                return
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(f"{what} is still {phase.value} after {timeout}s")
            if wait_for == "running":
                time.sleep(min(RUNNING_POLL_SECONDS, left or RUNNING_POLL_SECONDS))
                continue
            found = self._source.wait_action(self.run_name, self.name, min(WAIT_POLL_SECONDS, left or 1e9))
            if found is None:
                raise ActionNotFoundError(f"{what} is no longer recorded in {self._source.label}")
            self._record = found

    @syncify
    async def wait(
        self,
        quiet: bool = False,
        wait_for: Literal["terminal", "running"] = "terminal",
        timeout: float | None = None,
    ) -> None:
        """Block until the action ends (or starts running, with ``wait_for="running"``)."""
        await asyncio.to_thread(self._wait_sync, wait_for, timeout)

    @syncify
    async def abort(self, reason: str = "aborted by the user") -> None:
        """Abort the action and what runs under it (``flyte abort action``): its parent's call raises
        ``ActionAbortedError``, which the parent may catch. Aborting ``a0`` aborts the run."""
        if self.name == "a0":
            await Run(self._source, self.run_name).abort.aio(reason)
            return
        asked = await asyncio.to_thread(self._source.request_action_abort, self.run_name, self.name, reason)
        if not asked and not self.done():
            raise RuntimeUserError(
                "AbortFailed",
                f"Run '{self.run_name}' of action '{self.name}' is not running in a live process",
            )

    def __repr__(self) -> str:
        return f"Action(name={self.name!r}, task={self.task_name!r}, phase={self.phase.value!r})"


class Run:
    """A run: the tree of actions under its root action ``a0``.

    ``flyte.run`` returns one; ``Run.get(name)`` and ``Run.listall()`` find recorded runs.
    ``outputs()`` gives the root task's outputs as a tuple, ``wait()`` blocks until the run ends,
    ``abort()`` stops it (also when it runs in another process or on a control plane).
    """

    def __init__(
        self,
        source: RunSource,
        name: str,
        record: RunRecord | None = None,
        task: TaskTemplate | None = None,
    ):
        self._source = source
        self._name = name
        self._record = record
        self._task = task
        """The root task when this process started the run: its outputs are then typed."""

    # -- lookups ---------------------------------------------------------------------------------------

    @blocking_classmethod
    def get(cls: type[Run], name: str) -> Run:
        """A recorded run by name; raises ``flyte.errors.ActionNotFoundError`` when there is none."""
        source = default_source()
        record = source.get_run(name)
        if record is None:
            raise ActionNotFoundError(f"No run named '{name}' in {source.label}")
        return cls(source, name, record)

    @blocking_classmethod
    def listall(
        cls: type[Run],
        in_phase: tuple[ActionPhase | str, ...] | None = None,
        task_name: str | None = None,
        task_version: str | None = None,
        created_by_subject: str | None = None,
        sort_by: Any = None,
        limit: int = 100,
        project: str | None = None,
        domain: str | None = None,
        with_labels: dict[str, str] | None = None,
    ) -> Iterator[Run]:
        """Recorded runs, newest first, optionally only those in the given phases, of a task, of a
        project or domain, or with all the given labels. ``task_version``, ``created_by_subject``
        and ``sort_by`` are accepted for compatibility (runs here are not versioned nor owned)."""
        source = default_source()
        phases = tuple(ActionPhase(p) for p in in_phase or ())
        labels = dict(with_labels or {})
        labels.update({k: v for k, v in (("project", project), ("domain", domain)) if v})
        for record in source.list_runs(phases=phases, task_name=task_name, limit=limit, labels=labels):
            yield cls(source, record.name, record)

    @property
    def source(self) -> RunSource:
        """Where this handle reads the run from."""
        return self._source

    @property
    def record(self) -> RunRecord:
        """The run as last read (read again until it has ended)."""
        if self._record is None or self._record.ended_at is None:
            found = self._source.get_run(self._name)
            if found is None and self._record is None:
                raise ActionNotFoundError(f"No run named '{self._name}' in {self._source.label}")
            self._record = found or self._record
        assert self._record is not None
        return self._record

    # -- properties ------------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def url(self) -> str:
        return self._source.run_url(self._name)

    @property
    def phase(self) -> ActionPhase:
        return self.record.phase

    @property
    def task_name(self) -> str:
        return self.record.task_name

    @property
    def error_message(self) -> str | None:
        record = self.record
        return _error_message(record.error_type, record.error_message)

    @property
    def action(self) -> Action:
        """The root action ``a0``."""
        record = self._source.get_action(self._name, "a0")
        if record is None:
            raise ActionNotFoundError(f"Run '{self._name}' has no root action in {self._source.label}")
        return Action(self._source, record, self._task)

    def actions(self) -> list[Action]:
        """Every action of the run, parents before children."""
        return [
            Action(self._source, r, self._task if r.name == "a0" else None)
            for r in self._source.list_actions(self._name)
        ]

    def done(self) -> bool:
        return self.phase.is_terminal

    # -- blocking calls --------------------------------------------------------------------------------

    @syncify
    async def wait(
        self,
        quiet: bool = False,
        wait_for: Literal["terminal", "running"] = "terminal",
        timeout: float | None = None,
    ) -> None:
        """Block until the run ends (or starts running, with ``wait_for="running"``)."""
        try:
            await asyncio.to_thread(self._wait_root, wait_for, timeout)
        except TimeoutError:
            raise TimeoutError(f"Run '{self._name}' is still {self.phase.value} after {timeout}s") from None

    def _wait_root(self, wait_for: str, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        record = self._source.get_action(self._name, "a0")
        while record is None:  # the run is recorded before its root action is
            if self.done():
                return
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"Run '{self._name}' has not started after {timeout}s")
            time.sleep(RUNNING_POLL_SECONDS)
            record = self._source.get_action(self._name, "a0")
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        Action(self._source, record)._wait_sync(wait_for, left)
        if wait_for == "terminal":
            self._settle(left)

    def _settle(self, timeout: float | None) -> None:
        """After ``a0`` ended, the run's own record ends a moment later (its end is written last)."""
        deadline = time.monotonic() + (timeout if timeout is not None else WAIT_POLL_SECONDS)
        while not self.record.phase.is_terminal and time.monotonic() < deadline:
            time.sleep(RUNNING_POLL_SECONDS)

    @syncify
    async def outputs(self) -> ActionOutputs:
        """The root task's outputs as a tuple, once the run has ended; raises its error if it did
        not succeed."""
        return await asyncio.to_thread(self._outputs_sync)

    def _outputs_sync(self) -> ActionOutputs:
        self._wait_root("terminal", None)
        root = self.action
        if root.phase is not ActionPhase.SUCCEEDED:
            error = root.error
            if error is None:
                what = f"Run '{self._name}' has no outputs: it is {root.phase.value}"
                raise RuntimeUserError("NoOutputs", what)
            raise redact_error(user_error_of(error))  # it leaves the run: no secrets
        return root.outputs()

    @syncify
    async def inputs(self) -> ActionInputs:
        """The root task's inputs by name."""
        return await asyncio.to_thread(lambda: self.action.inputs())

    @syncify
    async def abort(self, reason: str = "aborted by the user") -> None:
        """Stop the run: its unfinished actions end as aborted. Works across processes."""
        asked = await asyncio.to_thread(self._source.request_abort, self._name, reason)
        if not asked and not self.done():
            raise RuntimeUserError("AbortFailed", f"Run '{self._name}' is not running in a live process")

    def watch(self) -> Iterator[RunEvent]:
        """Phase changes and log lines of every action as they happen, until the run ends."""
        return self._source.watch(self._name)

    def get_logs(self, action: str = "a0") -> list[str]:
        """The captured output lines of one action of the run (the root action by default)."""
        record = self._source.get_action(self._name, action)
        if record is None:
            raise ActionNotFoundError(f"Run '{self._name}' has no action named '{action}'")
        return Action(self._source, record).logs()

    def get_report(self) -> str | None:
        """The HTML report of the root action (a ``report=True`` task), or None when it wrote none."""
        data = self._source.read_report(self.action.record)
        return None if data is None else data.decode("utf-8", errors="replace")

    def __repr__(self) -> str:
        return f"Run(name={self._name!r}, phase={self.phase.value!r}, url={self.url!r})"
