"""Rows of the run store as frozen objects, shared by the CLI, ``flyte.remote`` and the server."""

from __future__ import annotations

from dataclasses import dataclass, field

from flyte.models import ActionPhase


@dataclass(frozen=True)
class PhaseEvent:
    """One phase transition of an action."""

    phase: ActionPhase
    at: float
    attempt: int


@dataclass(frozen=True)
class RunRecord:
    name: str
    task_name: str
    phase: ActionPhase
    created_at: float
    ended_at: float | None
    owner: str
    """``host:pid:start-ticks`` of the process executing the run (for crash detection)."""
    error_type: str | None
    error_message: str | None
    source_run: str | None
    """The run this one recovers, for ``rerun --recover``."""
    abort_reason: str | None
    task_module: str | None
    task_file: str | None
    root_dir: str | None
    labels: dict[str, str] = field(default_factory=dict)
    """The run's labels, with its ``project`` and ``domain`` when it has them."""

    @property
    def duration(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.created_at


@dataclass(frozen=True)
class ActionRecord:
    run_name: str
    name: str
    parent: str | None
    task_name: str
    group: str | None
    phase: ActionPhase
    attempts: int
    created_at: float
    started_at: float | None
    ended_at: float | None
    error_type: str | None
    error_message: str | None
    cache_status: str | None
    history: tuple[PhaseEvent, ...]
    report_path: str | None = None
    traceback: str | None = None
    """The user frames of the error that failed the action (see ``flyte._internal.tracebacks``)."""
    error_code: str | None = None
    """The error's own ``code`` when it is not its type name (see ``flyte.errors.own_code``)."""

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.ended_at or self.started_at) - self.started_at


@dataclass(frozen=True)
class TraceRecord:
    run_name: str
    action: str
    seq: int
    name: str
    inputs: bytes
    outputs: bytes | None
    error: str | None
    started_at: float
    ended_at: float


@dataclass(frozen=True)
class LogRecord:
    run_name: str
    action: str
    attempt: int
    stream: str
    at: float
    line: str


def report_key(run: str, action: str, attempt: int) -> str:
    """The storage key under which a control plane keeps the report of an attempt: workers upload
    it there through the data proxy, the server serves it from there."""
    return f"reports/{run}/{action}/{attempt}.html"
