"""``flyte run --follow``: the live action tree of a run executing elsewhere (a control plane).

The run's ``RunSource`` feeds the same renderer a local run uses (``flyte.cli._live``): the
source's ``watch`` gives phase changes and log lines as they happen; a phase change of an action
not seen before, or at most every ``RELIST_SECONDS``, re-reads the actions' records, from which
a tree of ``RecordNode`` objects is built. Log lines are printed above the tree as a local run's
output is. Outside a terminal the tree is not drawn; the log lines and the one summary line
are printed, as for a local run.
"""

from __future__ import annotations

import sys
import time

from flyte._internal.store import ActionRecord
from flyte.cli._live import LiveView
from flyte.models import ActionID, ActionPhase
from flyte.remote import Run
from flyte.remote._source import RunEvent

RELIST_SECONDS = 0.25
"""Shortest time between two re-reads of every action's record while following."""


class _RecordedError(Exception):
    """Stands for an error known only by its recorded type name and message (for display)."""


_error_types: dict[str, type[_RecordedError]] = {}


def _shown_error(type_name: str | None, message: str | None) -> BaseException | None:
    if type_name is None and message is None:
        return None
    name = type_name or "Error"
    cls = _error_types.get(name)
    if cls is None:  # a class named as recorded, so that the label reads `Type: message`
        cls = _error_types[name] = type(name, (_RecordedError,), {})
    return cls(message or "")


class RecordNode:
    """One action of a followed run, built from its record (what ``flyte.cli._live`` reads)."""

    __slots__ = ("record", "children", "id", "phase", "error")

    def __init__(self, record: ActionRecord):
        self.record = record
        self.children: list[RecordNode] = []
        self.id = ActionID(name=record.name, run_name=record.run_name)
        self.phase = record.phase
        """The record's phase, moved on by watch events between two re-reads."""
        self.error = _shown_error(record.error_type, record.error_message)

    name = property(lambda self: self.record.name)
    task_name = property(lambda self: self.record.task_name)
    group = property(lambda self: self.record.group)
    attempts = property(lambda self: self.record.attempts)
    cache_status = property(lambda self: self.record.cache_status)
    abort_reason = property(lambda self: None)

    @property
    def duration(self) -> float | None:
        started = self.record.started_at
        return None if started is None else (self.record.ended_at or time.time()) - started

    def walk(self) -> list[RecordNode]:
        """This action and all its descendants, parents first."""
        found, stack = [], [self]
        while stack:
            node = stack.pop()
            found.append(node)
            stack.extend(reversed(node.children))
        return found


def build_tree(actions: list[ActionRecord]) -> RecordNode | None:
    """The tree of ``actions`` under their root ``a0`` (None before the root is recorded)."""
    nodes = {a.name: RecordNode(a) for a in actions}
    for action in actions:
        parent = nodes.get(action.parent or "")
        if parent is not None:
            parent.children.append(nodes[action.name])
    return nodes.get("a0")


class RunFollower:
    """Keeps the tree of a run up to date from its watch events (``root`` is read by the view)."""

    def __init__(self, run: Run):
        self.run = run
        self.root: RecordNode | None = None
        self._nodes: dict[str, RecordNode] = {}
        self._listed = 0.0

    def relist(self) -> None:
        self.root = build_tree(self.run.source.list_actions(self.run.name))
        self._nodes = {n.name: n for n in self.root.walk()} if self.root is not None else {}
        self._listed = time.monotonic()

    def on_event(self, event: RunEvent) -> None:
        if event.kind == "log":
            stream = sys.stderr if event.stream == "stderr" else sys.stdout
            print(event.line, file=stream)  # as a local run's output; held above the tree by the view
            return
        node = self._nodes.get(event.action)
        if node is not None and event.phase:
            node.phase = ActionPhase(event.phase)
        if node is None or time.monotonic() - self._listed >= RELIST_SECONDS:
            self.relist()

    def follow(self) -> None:
        """Apply the run's events until it ends, then read its final records."""
        for event in self.run.watch():
            self.on_event(event)
        self.relist()


def follow(run: Run) -> None:
    """Show run ``run`` until it ends: the live tree in a terminal, its output lines elsewhere."""
    follower = RunFollower(run)
    with LiveView(lambda: follower.root):
        follower.follow()
