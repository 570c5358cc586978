"""Run and Action handles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from flyte._internal.runtime.convert import decode_inputs
from flyte._syncify import syncify
from flyte.models import ActionPhase
from flyte.remote._data import ActionInputs, ActionOutputs

if TYPE_CHECKING:
    from flyte._internal.controllers._action import ActionNode
    from flyte._task import TaskTemplate


class Action:
    """One action of a run: name, task, phase, attempts and timing."""

    def __init__(self, node: ActionNode):
        self._node = node

    @property
    def name(self) -> str:
        return self._node.name

    @property
    def task_name(self) -> str:
        return self._node.task_name

    @property
    def phase(self) -> ActionPhase:
        return self._node.phase

    @property
    def attempts(self) -> int:
        return self._node.attempts

    @property
    def group(self) -> str | None:
        return self._node.group

    @property
    def error(self) -> BaseException | None:
        return self._node.error

    @property
    def duration(self) -> float | None:
        return self._node.duration

    def done(self) -> bool:
        return self._node.phase.is_terminal

    @property
    def children(self) -> list[Action]:
        return [Action(c) for c in self._node.children]

    def __repr__(self) -> str:
        return f"Action(name={self.name!r}, task={self.task_name!r}, phase={self.phase.value!r})"


class Run:
    """A run: the tree of actions under its root action ``a0``.

    ``flyte.run`` returns one. ``outputs()`` gives the root task's outputs as a tuple,
    ``wait()`` blocks until the run ends.
    """

    def __init__(self, name: str, root: ActionNode, task: TaskTemplate, value: Any = None, url: str = ""):
        self._name = name
        self._root = root
        self._task = task
        self._value = value
        self._url = url

    @property
    def name(self) -> str:
        return self._name

    @property
    def url(self) -> str:
        return self._url

    @property
    def phase(self) -> ActionPhase:
        return self._root.phase

    @property
    def action(self) -> Action:
        return Action(self._root)

    def done(self) -> bool:
        return self._root.phase.is_terminal

    @syncify
    async def wait(self, quiet: bool = False, wait_for: Literal["terminal", "running"] = "terminal") -> None:
        """Block until the run reaches a terminal phase (a local run returned by flyte.run already has)."""

    @syncify
    async def outputs(self) -> ActionOutputs:
        """The root task's outputs as a tuple; raises the run's error if it did not succeed."""
        if self._root.phase is not ActionPhase.SUCCEEDED:
            if self._root.error is not None:
                raise self._root.error
            raise RuntimeError(f"Run '{self._name}' has no outputs: it is {self._root.phase.value}")
        n = len(self._task.interface.outputs)
        if n == 0:
            return ActionOutputs(())
        if n == 1:
            return ActionOutputs((self._value,))
        return ActionOutputs(tuple(self._value))

    @syncify
    async def inputs(self) -> ActionInputs:
        """The root task's inputs by name."""
        return ActionInputs(decode_inputs(self._task, self._root.inputs))

    def __repr__(self) -> str:
        return f"Run(name={self._name!r}, phase={self.phase.value!r})"
