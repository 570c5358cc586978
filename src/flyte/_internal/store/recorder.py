"""StoreRecorder: what the local controller reports, written to the run store by group commit."""

from __future__ import annotations

from flyte._internal.controllers._action import ActionNode, TraceEntry
from flyte._internal.redaction import redact
from flyte._internal.store.sqlite import RunStore


class StoreRecorder:
    """Marks actions dirty for the store's committer; never writes on the caller's thread."""

    def __init__(self, store: RunStore):
        self.store = store

    def action_changed(self, node: ActionNode) -> None:
        self.store.mark_dirty(node)

    def trace_recorded(self, node: ActionNode, seq: int, entry: TraceEntry) -> None:
        self.store.add_trace(node.id.run_name or "", node.name, seq, entry)

    def log_lines(self, node: ActionNode, attempt: int, stream: str, lines: list[tuple[float, str]]) -> None:
        run = node.id.run_name or ""
        self.store.add_logs((run, node.name, attempt, stream, at, redact(line)) for at, line in lines)

    def run_finished(self, root: ActionNode) -> None:
        self.store.finish_run(root.id.run_name or "", root.phase, root.error)
