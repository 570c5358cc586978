"""The run store's read API over the control plane's HTTP API.

``flyte get ...`` and ``flyte abort run`` are written against the store's methods; when a server
is configured they get this object instead, so their output is the same locally and remotely.
"""

from __future__ import annotations

import base64
from typing import Any

from flyte._internal.store.records import ActionRecord, LogRecord, PhaseEvent, RunRecord, TraceRecord
from flyte.errors import ActionNotFoundError
from flyte.models import ActionPhase
from flyte.remote._client import ApiClient


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


def _action(data: dict[str, Any]) -> ActionRecord:
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
    )


def _b64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


class RemoteRecords:
    """The subset of ``RunStore`` that the CLI reads, answered by a control-plane server."""

    def __init__(self, client: ApiClient):
        self.client = client

    def _get(self, path: str, **params: Any) -> Any:
        try:
            return self.client.call("GET", path, params={k: v for k, v in params.items() if v is not None})
        except ActionNotFoundError:
            return None

    def reap_dead_runs(self) -> list[str]:
        return []  # the server detects lost workers itself

    def get_run(self, name: str) -> RunRecord | None:
        data = self._get(f"/api/v1/runs/{name}")
        return None if data is None else _run(data)

    def list_runs(
        self,
        *,
        phases: Any = (),
        task_name: str | None = None,
        limit: int = 100,
        labels: dict[str, str] | None = None,
    ) -> list[RunRecord]:
        wanted = {ActionPhase(p) for p in phases}
        label = [f"{k}={v}" for k, v in (labels or {}).items()]
        rows = self._get("/api/v1/runs", task=task_name, limit=limit, label=label) or []
        return [r for r in map(_run, rows) if not wanted or r.phase in wanted]

    def list_actions(self, run_name: str) -> list[ActionRecord]:
        return [_action(a) for a in self._get(f"/api/v1/runs/{run_name}/actions") or []]

    def get_action(self, run_name: str, name: str) -> ActionRecord | None:
        data = self._get(f"/api/v1/runs/{run_name}/actions/{name}")
        return None if data is None else _action(data)

    def action_io(self, run_name: str, name: str) -> tuple[bytes | None, bytes | None]:
        data = self._get(f"/api/v1/runs/{run_name}/actions/{name}/io") or {}
        return _b64(data.get("inputs_b64")), _b64(data.get("outputs_b64"))

    def get_logs(self, run_name: str, action: str | None = None) -> list[LogRecord]:
        rows = self._get(f"/api/v1/runs/{run_name}/logs", action=action) or []
        return [LogRecord(run_name, r["action"], r["attempt"], r["stream"], r["at"], r["line"]) for r in rows]

    def get_traces(self, run_name: str, action: str | None = None) -> list[TraceRecord]:
        rows = self._get(f"/api/v1/runs/{run_name}/traces", action=action) or []
        return [
            TraceRecord(run_name, r["action"], r["seq"], r["name"], _b64(r.get("inputs_b64")) or b"",
                        _b64(r.get("outputs_b64")), r.get("error"), r["started_at"], r["ended_at"])
            for r in rows
        ]  # fmt: skip

    def request_abort(self, name: str, reason: str) -> bool:
        run = self.get_run(name)
        if run is None or run.phase.is_terminal:
            return False
        self.client.call("POST", f"/api/v1/runs/{name}/abort", json={"reason": reason})
        return True
