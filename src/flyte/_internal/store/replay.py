"""Recovery: replay what a previous run already finished instead of executing it again."""

from __future__ import annotations

from flyte._internal.core.identity import replays
from flyte._internal.store.records import TraceRecord
from flyte._internal.store.sqlite import RunStore


class Replay:
    """The succeeded actions and the traces of a source run, looked up by deterministic id.

    Action ids derive from the parent id, task, inputs, call sequence and group (not the run
    name), so re-running the same code with the same inputs meets the same ids.
    """

    def __init__(self, store: RunStore, source_run: str):
        self.source_run = source_run
        self._store = store
        self._actions = store.succeeded_actions(source_run)
        self._traces: dict[tuple[str, int], TraceRecord] = {
            (t.action, t.seq): t for t in store.get_traces(source_run) if t.error is None
        }

    def outputs_for(self, action: str, task_name: str, inputs: bytes) -> bytes | None:
        """The recorded outputs of ``action`` if it succeeded with the same task and inputs."""
        found = self._actions.get(action)
        if found is None:
            return None
        recorded_task, inline, ref, outputs = found
        return outputs if replays(recorded_task, self._store.load(inline, ref), task_name, inputs) else None

    def trace_for(self, action: str, seq: int, name: str, inputs: bytes) -> TraceRecord | None:
        record = self._traces.get((action, seq))
        return record if record is not None and replays(record.name, record.inputs, name, inputs) else None
