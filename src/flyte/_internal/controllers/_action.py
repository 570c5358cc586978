"""The in-memory action tree a controller keeps while a run executes."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from flyte.models import ActionID, ActionPhase

if TYPE_CHECKING:
    from flyte.types._wire import Spliced

_seq_lock = threading.Lock()


class ActionNode:
    """One action of a run: identity, phase, attempts, encoded inputs/outputs and children."""

    __slots__ = (
        "id",
        "task_name",
        "parent",
        "group",
        "children",
        "phase",
        "attempts",
        "encoded_inputs",
        "encoded_outputs",
        "error",
        "abort_reason",
        "created_at",
        "started_at",
        "ended_at",
        "handle",
        "_seq",
        "cache_status",
        "traces",
        "history",
        "report_path",
        "inputs_digest",
        "outputs_digest",
    )

    def __init__(
        self,
        action_id: ActionID,
        task_name: str,
        parent: ActionNode | None,
        group: str | None,
        inputs: bytes | Spliced,
    ):
        self.id = action_id
        self.task_name = task_name
        self.parent = parent
        self.group = group
        self.children: list[ActionNode] = []
        self.phase = ActionPhase.QUEUED
        self.attempts = 0
        self.encoded_inputs = inputs
        """The encoded inputs as made (large ones may be spliced: ``inputs`` joins them)."""
        self.encoded_outputs: bytes | Spliced | None = None
        self.error: BaseException | None = None
        self.abort_reason: str | None = None
        self.created_at = time.time()
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.handle: Any = None
        """The asyncio task awaiting this action, so that a finished parent can cancel it."""
        self._seq: dict[tuple[str, str, str | None], int] | None = None
        self.cache_status: str | None = None
        self.traces: list[TraceEntry] = []
        self.report_path: str | None = None
        self.inputs_digest: str | None = None
        """``blob_digest`` of large inputs, computed once for the identity and reused as their blob name."""
        self.outputs_digest: tuple[bytes | Spliced, str] | None = None
        """(outputs, their blob digest), remembered by the run store across snapshots of the action."""
        self.history: list[tuple[str, float, int]] = [(ActionPhase.QUEUED.value, self.created_at, 0)]
        """(phase, time, attempt) of every transition."""

    @property
    def inputs(self) -> bytes:
        """The encoded inputs, as one bytes object."""
        data = self.encoded_inputs
        return data if type(data) is bytes else bytes(data)

    @inputs.setter
    def inputs(self, data: bytes | Spliced) -> None:
        self.encoded_inputs = data

    @property
    def outputs(self) -> bytes | None:
        """The encoded outputs once succeeded, as one bytes object."""
        data = self.encoded_outputs
        return data if data is None or type(data) is bytes else bytes(data)

    @outputs.setter
    def outputs(self, data: bytes | Spliced | None) -> None:
        self.encoded_outputs = data

    def transition(self, phase: ActionPhase) -> None:
        self.phase = phase
        self.history.append((phase.value, time.time(), self.attempts))

    @property
    def name(self) -> str:
        return self.id.name

    def next_seq(self, task_name: str, input_hash: str, group: str | None) -> int:
        """The call sequence number of an identical call (same task, inputs, group) in this action."""
        key = (task_name, input_hash, group)
        with _seq_lock:  # a sync action's calls may come from its own thread and the run's loop
            if self._seq is None:
                self._seq = {}
            seq = self._seq.get(key, 0)
            self._seq[key] = seq + 1
        return seq

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.ended_at or time.time()) - self.started_at

    def walk(self):
        """This action and all its descendants, parents first."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def __repr__(self) -> str:
        return f"ActionNode({self.name}, {self.task_name}, {self.phase.value})"


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """One finished ``@flyte.trace`` call inside an action: encoded inputs and outputs, or the error."""

    name: str
    inputs: bytes
    outputs: bytes | None
    error: str | None
    started_at: float
    ended_at: float


class RunRecorder(Protocol):
    """Where a controller reports what happens; the durable run store implements this."""

    def action_changed(self, node: ActionNode) -> None: ...

    def run_finished(self, root: ActionNode) -> None: ...


class NullRecorder:
    """Keeps nothing beyond the in-memory tree."""

    def action_changed(self, node: ActionNode) -> None:
        pass

    def run_finished(self, root: ActionNode) -> None:
        pass
