"""Run and Action handles: the object ``flyte.run`` returns, and lookups of recorded runs.

A handle reads either the live action tree of a run executing in this process, or the run
store (``Run.get``, ``Run.listall``), so the same calls work during and after a run, from any
process.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from flyte._initialize import get_init_config
from flyte._internal.redaction import redact_error
from flyte._internal.run_config import flyte_home
from flyte._internal.runtime.convert import decode_inputs
from flyte._internal.store import ActionRecord, RunRecord, RunStore, open_store
from flyte._syncify import syncify
from flyte.errors import ActionNotFoundError, RuntimeUserError, user_error_of
from flyte.models import ActionPhase
from flyte.remote._data import ActionInputs, ActionOutputs, ordered_outputs
from flyte.types import TypeEngine

if TYPE_CHECKING:
    from flyte._internal.controllers._action import ActionNode
    from flyte._task import TaskTemplate

WAIT_POLL_SECONDS = 0.1


def _store() -> RunStore:
    return open_store(flyte_home())


def _untyped(data: bytes | None) -> dict[str, Any]:
    values = TypeEngine.decode_values(data, {}) if data else {}
    values.pop("_artifacts", None)  # flyte.artifacts records, not an output
    return values


class Action:
    """One action of a run: name, task, phase, attempts, timing, and its inputs and outputs."""

    def __init__(self, run_name: str, node: ActionNode | None = None, record: ActionRecord | None = None):
        self.run_name = run_name
        self._node = node
        self._record = record

    @classmethod
    def get(cls, run_name: str, name: str) -> Action:
        """A recorded action; raises ``flyte.errors.ActionNotFoundError`` when there is none."""
        if get_init_config().is_remote:
            from flyte.remote._remote_run import get_action

            return get_action(run_name, name)
        record = _store().get_action(run_name, name)
        if record is None:
            raise ActionNotFoundError(f"Run '{run_name}' has no action named '{name}'")
        return cls(run_name, record=record)

    def _fresh(self) -> ActionRecord | None:
        if self._node is None and self._record is not None and not self._record.phase.is_terminal:
            self._record = _store().get_action(self.run_name, self._record.name) or self._record
        return self._record

    @property
    def name(self) -> str:
        return self._node.name if self._node is not None else self._record.name  # type: ignore[union-attr]

    @property
    def task_name(self) -> str:
        return self._node.task_name if self._node is not None else self._record.task_name  # type: ignore[union-attr]

    @property
    def phase(self) -> ActionPhase:
        return self._node.phase if self._node is not None else self._fresh().phase  # type: ignore[union-attr]

    @property
    def attempts(self) -> int:
        return self._node.attempts if self._node is not None else self._fresh().attempts  # type: ignore[union-attr]

    @property
    def group(self) -> str | None:
        return self._node.group if self._node is not None else self._record.group  # type: ignore[union-attr]

    @property
    def cache_status(self) -> str | None:
        return self._node.cache_status if self._node is not None else self._fresh().cache_status  # type: ignore[union-attr]

    @property
    def error(self) -> BaseException | None:
        """The exception object (live runs only; recorded runs keep ``error_message``)."""
        return self._node.error if self._node is not None else None

    @property
    def error_message(self) -> str | None:
        if self._node is not None:
            err = self._node.error
            return None if err is None else f"{type(err).__name__}: {err}"
        record = self._fresh()
        if record is None or record.error_type is None:
            return None
        return f"{record.error_type}: {record.error_message}"

    @property
    def duration(self) -> float | None:
        return self._node.duration if self._node is not None else self._fresh().duration  # type: ignore[union-attr]

    @property
    def report_path(self) -> str | None:
        """The HTML report written by a ``report=True`` task, if any."""
        return self._node.report_path if self._node is not None else self._fresh().report_path  # type: ignore[union-attr]

    def done(self) -> bool:
        return self.phase.is_terminal

    @property
    def children(self) -> list[Action]:
        if self._node is not None:
            return [Action(self.run_name, node=c) for c in self._node.children]
        return [
            Action(self.run_name, record=r)
            for r in _store().list_actions(self.run_name)
            if r.parent == self.name
        ]

    def inputs(self) -> ActionInputs:
        """The action's inputs by name (decoded without the task's types for recorded runs)."""
        data = (
            self._node.inputs if self._node is not None else _store().action_io(self.run_name, self.name)[0]
        )
        return ActionInputs(_untyped(data))

    def outputs(self) -> ActionOutputs:
        """The action's outputs as a tuple; raises if it has not succeeded."""
        if self.phase is not ActionPhase.SUCCEEDED:
            raise RuntimeUserError(
                "NoOutputs", f"Action '{self.name}' has no outputs: it is {self.phase.value}"
            )
        data = (
            self._node.outputs if self._node is not None else _store().action_io(self.run_name, self.name)[1]
        )
        return ordered_outputs(_untyped(data))

    def logs(self) -> list[str]:
        """Captured stdout, stderr and logging lines of the action, in order."""
        return [f"[{r.stream}] {r.line}" for r in _store().get_logs(self.run_name, self.name)]

    @classmethod
    def listall(
        cls, for_run_name: str, in_phase: tuple[ActionPhase | str, ...] | None = None, sort_by: Any = None
    ) -> Iterator[Action]:
        """The actions of run ``for_run_name`` (parents before children), optionally only those in
        the given phases; ``sort_by`` is accepted for compatibility."""
        wanted = {ActionPhase(p) for p in in_phase or ()}
        for action in Run.get(for_run_name).actions():
            if not wanted or action.phase in wanted:
                yield action

    @syncify
    async def wait(
        self,
        quiet: bool = False,
        wait_for: Literal["terminal", "running"] = "terminal",
        timeout: float | None = None,
    ) -> None:
        """Block until the action ends (or starts running, with ``wait_for="running"``)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            phase = await asyncio.to_thread(lambda: self.phase)
            if phase.is_terminal or (wait_for == "running" and phase is not ActionPhase.QUEUED):
                return
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(
                    f"Action '{self.name}' of run '{self.run_name}' is still {phase.value} after {timeout}s"
                )
            await asyncio.sleep(WAIT_POLL_SECONDS)

    @syncify
    async def abort(self, reason: str = "aborted by the user") -> None:
        """Abort the action and what runs under it (``flyte abort action``): its parent's call raises
        ``ActionAbortedError``, which the parent may catch. Aborting ``a0`` aborts the run."""
        if self.name == "a0":
            await Run.get(self.run_name).abort.aio(reason)
            return
        if not _store().request_action_abort(self.run_name, self.name, reason) and not self.done():
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
    ``abort()`` stops it (also when it runs in another process).
    """

    def __init__(
        self,
        name: str,
        root: ActionNode | None = None,
        task: TaskTemplate | None = None,
        value: Any = None,
        url: str = "",
        record: RunRecord | None = None,
    ):
        self._name = name
        self._root = root
        self._task = task
        self._value = value
        self._url = url
        self._record = record

    # -- lookups ---------------------------------------------------------------------------------------

    @classmethod
    def get(cls, name: str) -> Run:
        """A recorded run by name; raises ``flyte.errors.ActionNotFoundError`` when there is none."""
        if get_init_config().is_remote:
            from flyte.remote._remote_run import get_run

            return get_run(name)
        store = _store()
        store.reap_dead_runs()
        record = store.get_run(name)
        if record is None:
            raise ActionNotFoundError(f"No run named '{name}' in {flyte_home()}")
        return cls(name, record=record, url=(flyte_home() / "runs" / name).as_uri())

    @classmethod
    def listall(
        cls, in_phase: tuple[ActionPhase | str, ...] = (), task_name: str | None = None, limit: int = 100
    ) -> Iterator[Run]:
        """Recorded runs, newest first, optionally only those in the given phases or of a task."""
        if get_init_config().is_remote:
            from flyte.remote._remote_run import list_runs

            yield from list_runs(in_phase, task_name, limit)
            return
        store = _store()
        store.reap_dead_runs()
        phases = tuple(ActionPhase(p) for p in in_phase)
        for record in store.list_runs(phases=phases, task_name=task_name, limit=limit):
            yield cls(record.name, record=record, url=(flyte_home() / "runs" / record.name).as_uri())

    def _fresh(self) -> RunRecord:
        if self._record is None or not self._record.phase.is_terminal or self._record.ended_at is None:
            store = _store()
            store.reap_dead_runs()
            self._record = store.get_run(self._name) or self._record
        assert self._record is not None
        return self._record

    # -- properties ------------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def url(self) -> str:
        return self._url

    @property
    def phase(self) -> ActionPhase:
        if self._root is not None:
            return self._root.phase
        return self._fresh().phase

    @property
    def task_name(self) -> str:
        return self._root.task_name if self._root is not None else self._fresh().task_name

    @property
    def error_message(self) -> str | None:
        return self.action.error_message if self._root is not None else self._error_from_record()

    def _error_from_record(self) -> str | None:
        record = self._fresh()
        return None if record.error_type is None else f"{record.error_type}: {record.error_message}"

    @property
    def action(self) -> Action:
        if self._root is not None:
            return Action(self._name, node=self._root)
        return Action.get(self._name, "a0")

    def actions(self) -> list[Action]:
        """Every action of the run, parents before children."""
        if self._root is not None:
            return [Action(self._name, node=n) for n in self._root.walk()]
        return [Action(self._name, record=r) for r in _store().list_actions(self._name)]

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
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            phase = self.phase
            if phase.is_terminal or (wait_for == "running" and phase is not ActionPhase.QUEUED):
                return
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"Run '{self._name}' is still {phase.value} after {timeout}s")
            await asyncio.sleep(WAIT_POLL_SECONDS)

    @syncify
    async def outputs(self) -> ActionOutputs:
        """The root task's outputs as a tuple; raises the run's error if it did not succeed."""
        if self._root is None:
            return self.action.outputs()
        if self._root.phase is not ActionPhase.SUCCEEDED:
            if self._root.error is not None:
                raise redact_error(user_error_of(self._root.error))  # it leaves the run: no secrets
            raise RuntimeUserError(
                "NoOutputs", f"Run '{self._name}' has no outputs: it is {self._root.phase.value}"
            )
        assert self._task is not None
        n = len(self._task.interface.outputs)
        if n == 0:  # as the reference's local runs: a task returning None gives (None,)
            return ActionOutputs((None,))
        names = list(self._task.interface.outputs)
        if n == 1:
            return ActionOutputs((self._value,), names=names if names != ["o0"] else None)
        return ActionOutputs(tuple(self._value), names=names if names[0] != "o0" else None)

    @syncify
    async def inputs(self) -> ActionInputs:
        """The root task's inputs by name."""
        if self._root is not None and self._task is not None:
            return ActionInputs(decode_inputs(self._task, self._root.inputs))
        return self.action.inputs()

    @syncify
    async def abort(self, reason: str = "aborted by the user") -> None:
        """Stop the run: its unfinished actions end as aborted. Works across processes."""
        if not _store().request_abort(self._name, reason) and not self.done():
            raise RuntimeUserError("AbortFailed", f"Run '{self._name}' is not running in a live process")

    def get_logs(self, action: str = "a0") -> list[str]:
        """The captured output lines of one action of the run (the root action by default)."""
        found = self.action if action == "a0" else next((a for a in self.actions() if a.name == action), None)
        if found is None:
            raise ActionNotFoundError(f"Run '{self._name}' has no action named '{action}'")
        return found.logs()

    def get_report(self) -> str | None:
        """The HTML report of the root action (a ``report=True`` task), or None when it wrote none."""
        path = self.action.report_path
        if not path:
            return None
        try:
            with open(path.removeprefix("file://"), encoding="utf-8") as f:
                return f.read()
        except OSError:
            return None

    def __repr__(self) -> str:
        return f"Run(name={self._name!r}, phase={self.phase.value!r})"
