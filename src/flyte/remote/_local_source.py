"""The two sources of runs kept on this machine (see ``flyte.remote._source``).

``StoreSource`` reads the run store of a ``$FLYTE_HOME`` (runs of any process, also of processes
that died: those are marked failed first). ``TreeSource`` reads the in-memory action tree of a
run this process just executed: the records it gives are snapshots of the live ``ActionNode``
objects, and the errors are the original exception objects (with their tracebacks), which a
store can only describe by type name and message.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from flyte._internal.store import ActionRecord, LogRecord, PhaseEvent, RunRecord, RunStore, TraceRecord
from flyte._internal.store.sqlite import action_error_fields
from flyte.errors import own_code
from flyte.models import ActionPhase
from flyte.remote._source import RunEvent, poll_wait, poll_watch, recorded_error

if TYPE_CHECKING:
    from flyte._internal.controllers._action import ActionNode


def _read_file(path: str | None) -> bytes | None:
    if not path:
        return None
    try:
        return Path(path.removeprefix("file://")).read_bytes()
    except OSError:
        return None


class StoreSource:
    """Runs recorded in the run store of ``home`` (the local ``flyte run`` and ``flyte.run``)."""

    def __init__(self, store: RunStore, home: Path):
        self.store = store
        self.home = home

    @property
    def label(self) -> str:
        return f"the local store in {self.home}"

    def run_url(self, name: str) -> str:
        return (self.home / "runs" / name).as_uri()

    def get_run(self, name: str) -> RunRecord | None:
        self.store.reap_dead_runs()  # a run whose process died must not show as running forever
        return self.store.get_run(name)

    def list_runs(
        self,
        *,
        phases: Iterable[ActionPhase] = (),
        task_name: str | None = None,
        limit: int = 100,
        labels: dict[str, str] | None = None,
    ) -> list[RunRecord]:
        self.store.reap_dead_runs()
        return self.store.list_runs(phases=phases, task_name=task_name, limit=limit, labels=labels)

    def get_action(self, run_name: str, name: str) -> ActionRecord | None:
        return self.store.get_action(run_name, name)

    def list_actions(self, run_name: str) -> list[ActionRecord]:
        return self.store.list_actions(run_name)

    def action_io(self, run_name: str, name: str) -> tuple[bytes | None, bytes | None]:
        return self.store.action_io(run_name, name)

    def get_logs(self, run_name: str, action: str | None = None) -> list[LogRecord]:
        return self.store.get_logs(run_name, action)

    def get_traces(self, run_name: str, action: str | None = None) -> list[TraceRecord]:
        return self.store.get_traces(run_name, action)

    def read_report(self, action: ActionRecord) -> bytes | None:
        return _read_file(action.report_path)

    def checkpoints(self, action: ActionRecord) -> list[str]:
        root = self.home / "runs" / action.run_name / action.name / "checkpoints"
        return sorted(str(p) for p in root.iterdir()) if root.is_dir() else []

    def error_of(self, action: ActionRecord, near: Sequence[str] = ()) -> BaseException | None:
        return recorded_error(action, near)

    def wait_action(self, run_name: str, name: str, timeout: float) -> ActionRecord | None:
        return poll_wait(self, run_name, name, timeout)

    def watch(self, run_name: str) -> Iterator[RunEvent]:
        return poll_watch(self, run_name)

    def request_abort(self, name: str, reason: str) -> bool:
        return self.store.request_abort(name, reason)

    def request_action_abort(self, run_name: str, action: str, reason: str) -> bool:
        return self.store.request_action_abort(run_name, action, reason)


def node_record(node: ActionNode) -> ActionRecord:
    """A frozen snapshot of a live action, as the run store would record it."""
    error_type, error_message = action_error_fields(node.error, node.phase, node.abort_reason)
    return ActionRecord(
        run_name=node.id.run_name or "",
        name=node.name,
        parent=node.parent.name if node.parent is not None else None,
        task_name=node.task_name,
        group=node.group,
        phase=node.phase,
        attempts=node.attempts,
        created_at=node.created_at,
        started_at=node.started_at,
        ended_at=node.ended_at,
        error_type=error_type,
        error_message=error_message,
        cache_status=node.cache_status,
        history=tuple(PhaseEvent(ActionPhase(p), at, attempt) for p, at, attempt in list(node.history)),
        report_path=node.report_path,
        error_code=own_code(node.error),
    )


class TreeSource:
    """The action tree of a run executed in this process, rooted at ``root``.

    Logs and aborts need the run store; ``store`` is the one the run was recorded in
    (None when it was not recorded: then there are no logs or traces to read).
    """

    def __init__(self, root: ActionNode, store: StoreSource | None = None, url: str = ""):
        self.root = root
        self.store = store
        self.url = url
        self._index: dict[str, ActionNode] = {}

    def _node(self, run_name: str, name: str) -> ActionNode | None:
        if run_name != self.root.id.run_name:
            return None
        node = self._index.get(name)
        if node is None:  # an action added since the index was made (or none of that name)
            self._index = {n.name: n for n in self.root.walk()}
            node = self._index.get(name)
        return node

    @property
    def label(self) -> str:
        return f"the run {self.root.id.run_name} executed in this process"

    def run_url(self, name: str) -> str:
        return self.url

    def get_run(self, name: str) -> RunRecord | None:
        root = self.root
        if name != root.id.run_name:
            return None
        error_type, error_message = action_error_fields(root.error, root.phase, root.abort_reason)
        ended = root.ended_at if root.phase.is_terminal else None
        return RunRecord(
            name=name, task_name=root.task_name, phase=root.phase, created_at=root.created_at,
            ended_at=ended, owner="this process", error_type=error_type, error_message=error_message,
            source_run=None, abort_reason=root.abort_reason, task_module=None, task_file=None,
            root_dir=None,
        )  # fmt: skip

    def list_runs(
        self,
        *,
        phases: Iterable[ActionPhase] = (),
        task_name: str | None = None,
        limit: int = 100,
        labels: dict[str, str] | None = None,
    ) -> list[RunRecord]:
        run = self.get_run(self.root.id.run_name or "")
        wanted = set(phases)
        keep = run is not None and (not wanted or run.phase in wanted) and task_name in (None, run.task_name)
        return [run] if keep and run is not None and limit > 0 else []

    def get_action(self, run_name: str, name: str) -> ActionRecord | None:
        node = self._node(run_name, name)
        return None if node is None else node_record(node)

    def list_actions(self, run_name: str) -> list[ActionRecord]:
        if run_name != self.root.id.run_name:
            return []
        return [node_record(n) for n in self.root.walk()]

    def action_io(self, run_name: str, name: str) -> tuple[bytes | None, bytes | None]:
        node = self._node(run_name, name)
        return (None, None) if node is None else (node.inputs, node.outputs)

    def get_logs(self, run_name: str, action: str | None = None) -> list[LogRecord]:
        return self.store.get_logs(run_name, action) if self.store is not None else []

    def get_traces(self, run_name: str, action: str | None = None) -> list[TraceRecord]:
        if run_name != self.root.id.run_name:
            return []
        nodes = [n for n in self.root.walk() if action is None or n.name == action]
        return [
            TraceRecord(run_name, n.name, seq, t.name, t.inputs, t.outputs, t.error, t.started_at, t.ended_at)
            for n in sorted(nodes, key=lambda n: n.name)
            for seq, t in enumerate(list(n.traces))
        ]

    def read_report(self, action: ActionRecord) -> bytes | None:
        return _read_file(action.report_path)

    def checkpoints(self, action: ActionRecord) -> list[str]:
        return self.store.checkpoints(action) if self.store is not None else []

    def error_of(self, action: ActionRecord, near: Sequence[str] = ()) -> BaseException | None:
        node = self._node(action.run_name, action.name)
        if node is None or node.phase is ActionPhase.SUCCEEDED:
            return None
        return node.error  # the exception itself, not a description of it

    def wait_action(self, run_name: str, name: str, timeout: float) -> ActionRecord | None:
        return poll_wait(self, run_name, name, timeout)

    def watch(self, run_name: str) -> Iterator[RunEvent]:
        return poll_watch(self, run_name)

    def request_abort(self, name: str, reason: str) -> bool:
        return self.store.request_abort(name, reason) if self.store is not None else False

    def request_action_abort(self, run_name: str, action: str, reason: str) -> bool:
        if self.store is None:
            return False
        return self.store.request_action_abort(run_name, action, reason)
