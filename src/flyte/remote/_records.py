"""``HttpSource``: the ``RunSource`` (``flyte.remote._source``) answered by a control plane.

The API's JSON rows become the same frozen records the local run store gives, so
``flyte.remote.Run`` / ``Action`` and ``flyte get ...`` read a devbox with the code that reads
this machine's runs.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from flyte._internal.store.records import ActionRecord, LogRecord, PhaseEvent, RunRecord, TraceRecord
from flyte.errors import ActionNotFoundError
from flyte.models import ActionPhase
from flyte.remote._client import ApiClient
from flyte.remote._source import RunEvent, recorded_error

WAIT_SECONDS = 30.0
"""Server-side timeout of one long poll (``wait``, ``watch``)."""


def _run(data: dict[str, Any]) -> RunRecord:
    return RunRecord(
        name=data["name"],
        task_name=data["task_name"],
        phase=ActionPhase(data["phase"]),
        created_at=data["created_at"],
        ended_at=data.get("ended_at"),
        owner=data.get("owner") or "server",
        error_type=data.get("error_type"),
        error_message=data.get("error_message"),
        source_run=data.get("source_run"),
        abort_reason=data.get("abort_reason"),
        task_module=None,
        task_file=None,
        root_dir=None,
        labels=dict(data.get("labels") or {}),
    )


def _action(data: dict[str, Any], endpoint: str = "") -> ActionRecord:
    history = tuple(PhaseEvent(ActionPhase(p), at, attempt) for p, at, attempt in data.get("history") or ())
    return ActionRecord(
        run_name=data["run_name"],
        name=data["name"],
        parent=data.get("parent"),
        task_name=data["task_name"],
        group=data.get("group"),
        phase=ActionPhase(data["phase"]),
        attempts=data.get("attempts", 0),
        created_at=data["created_at"],
        started_at=data.get("started_at"),
        ended_at=data.get("ended_at"),
        error_type=data.get("error_type"),
        error_message=data.get("error_message"),
        cache_status=data.get("cache_status"),
        history=history,
        error_code=data.get("error_code"),
        report_path=f"{endpoint}{data['report']}" if data.get("report") else None,
        traceback=data.get("traceback"),
    )


def _b64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def _q(segment: str) -> str:
    from urllib.parse import quote

    return quote(segment, safe="")


class HttpSource:
    """The runs of a control-plane server, read through its HTTP API (``docs/control-plane.md``)."""

    def __init__(self, client: ApiClient):
        self.client = client

    def _get(self, path: str, **params: Any) -> Any:
        try:
            return self.client.call("GET", path, params={k: v for k, v in params.items() if v is not None})
        except ActionNotFoundError:
            return None

    @property
    def label(self) -> str:
        return f"the control plane at {self.client.endpoint}"

    def run_url(self, name: str) -> str:
        return f"{self.client.endpoint}/runs/{_q(name)}"

    def get_run(self, name: str) -> RunRecord | None:
        data = self._get(f"/api/v1/runs/{_q(name)}")
        return None if data is None else _run(data)

    def list_runs(
        self,
        *,
        phases: Iterable[ActionPhase] = (),
        task_name: str | None = None,
        limit: int = 100,
        labels: dict[str, str] | None = None,
    ) -> list[RunRecord]:
        wanted = [ActionPhase(p).value for p in phases]
        label = [f"{k}={v}" for k, v in (labels or {}).items()]
        rows = self._get("/api/v1/runs", task=task_name, limit=limit, label=label, phase=wanted) or []
        return [_run(r) for r in rows]

    def list_actions(self, run_name: str) -> list[ActionRecord]:
        rows = self._get(f"/api/v1/runs/{_q(run_name)}/actions") or []
        return [_action(a, self.client.endpoint) for a in rows]

    def get_action(self, run_name: str, name: str) -> ActionRecord | None:
        data = self._get(f"/api/v1/runs/{_q(run_name)}/actions/{_q(name)}")
        return None if data is None else _action(data, self.client.endpoint)

    def action_io(self, run_name: str, name: str) -> tuple[bytes | None, bytes | None]:
        data = self._get(f"/api/v1/runs/{_q(run_name)}/actions/{_q(name)}/io") or {}
        return _b64(data.get("inputs_b64")), _b64(data.get("outputs_b64"))

    def get_traces(self, run_name: str, action: str | None = None) -> list[TraceRecord]:
        rows = self._get(f"/api/v1/runs/{_q(run_name)}/traces", action=action) or []
        return [
            TraceRecord(run_name, r["action"], r["seq"], r["name"], _b64(r.get("inputs_b64")) or b"",
                        _b64(r.get("outputs_b64")), r.get("error"), r["started_at"], r["ended_at"])
            for r in rows
        ]  # fmt: skip

    def read_report(self, action: ActionRecord) -> bytes | None:
        """The HTML of the action's report, downloaded from the server."""
        if not action.report_path:
            return None
        path = f"/api/v1/runs/{_q(action.run_name)}/actions/{_q(action.name)}/report"
        try:
            return self.client.request("GET", path).content
        except ActionNotFoundError:
            return None

    def checkpoints(self, action: ActionRecord) -> list[str]:
        return []  # a worker's checkpoints stay in the server's storage

    def get_logs(self, run_name: str, action: str | None = None) -> list[LogRecord]:
        rows = self._get(f"/api/v1/runs/{_q(run_name)}/logs", action=action) or []
        return [LogRecord(run_name, r["action"], r["attempt"], r["stream"], r["at"], r["line"]) for r in rows]

    def error_of(self, action: ActionRecord, near: Sequence[str] = ()) -> BaseException | None:
        return recorded_error(action, near)

    def wait_action(self, run_name: str, name: str, timeout: float) -> ActionRecord | None:
        poll = max(0.0, min(WAIT_SECONDS, timeout))
        path = f"/api/v1/runs/{_q(run_name)}/actions/{_q(name)}/wait"
        try:
            data = self.client.call("GET", path, params={"timeout": poll}, poll=poll)
        except ActionNotFoundError:
            return None
        return _action(data, self.client.endpoint)

    def watch(self, run_name: str) -> Iterator[RunEvent]:
        """The server's event feed of the run (long polls), until the run has ended."""
        since, ending = 0, False
        path = f"/api/v1/runs/{_q(run_name)}/watch"
        while True:
            poll = 0.0 if ending else WAIT_SECONDS
            answer = self.client.call("GET", path, params={"since": since, "timeout": poll}, poll=poll) or {}
            since = answer.get("seq", since)
            events = answer.get("events") or []
            for e in events:
                event = RunEvent(
                    e["seq"], e["kind"], e["action"], e["at"], e.get("phase"), e.get("line"), e.get("stream")
                )
                if event.kind == "phase" and event.action == "a0" and ActionPhase(event.phase).is_terminal:
                    ending = True
                yield event
            if answer.get("done") or (ending and not events):
                return
            if not events and not ending:
                run = self.get_run(run_name)
                ending = run is None or run.phase.is_terminal

    def request_action_abort(self, run_name: str, action: str, reason: str) -> bool:
        record = self.get_action(run_name, action)
        if record is None or record.phase.is_terminal:
            return False
        path = f"/api/v1/runs/{_q(run_name)}/actions/{_q(action)}/abort"
        self.client.call("POST", path, json={"reason": reason})
        return True

    def request_abort(self, name: str, reason: str) -> bool:
        run = self.get_run(name)
        if run is None or run.phase.is_terminal:
            return False
        self.client.call("POST", f"/api/v1/runs/{_q(name)}/abort", json={"reason": reason})
        return True


RemoteRecords = HttpSource
"""The name this class had before it became a ``RunSource``."""
