"""The JSON objects of the HTTP API (``docs/control-plane.md``), as pydantic models.

Encoded values travel base64 in fields named ``*_b64``. ``TaskRef`` keeps fields it does not
know, so a newer client can send more than this server reads and workers still receive it.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from flyte._internal.core.policy import ActionPolicy, backoff_delay


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_non_finite(v) for v in value)
    return False


class ApiModel(BaseModel):
    """Every API object: numbers are finite (``1e999`` or ``NaN`` in a body is a 422, never a 500
    when the value is stored or sent back). Typed fields are checked by pydantic itself
    (``allow_inf_nan=False``); the untyped values a ``TaskRef`` keeps are walked by its own
    validator (walking every model's input cost a sizeable share of the server's CPU per action)."""

    model_config = ConfigDict(allow_inf_nan=False)


class CacheSpec(ApiModel):
    behavior: str = "disable"
    version: str | None = None
    serialize: bool = False
    ignored_inputs: list[str] = Field(default_factory=list)


class SecretRef(ApiModel):
    key: str
    group: str | None = None
    as_env_var: str | None = None
    mount: str | None = None


class BackoffSpec(ApiModel):
    """``flyte.Backoff`` on the wire: retry n (1 for the first) waits ``min(cap, base * factor**(n-1))``."""

    base: float = 1.0
    factor: float = 1.0
    cap: float | None = None


class TaskRef(ApiModel):
    """What a worker needs to find and run a task."""

    model_config = ConfigDict(extra="allow")

    @model_validator(mode="before")
    @classmethod
    def _finite_numbers(cls, data: Any) -> Any:
        """Also the extra fields and ``resources`` (untyped) hold finite numbers only."""
        if _has_non_finite(data):
            raise ValueError("numbers must be finite (no Infinity, NaN or values like 1e999)")
        return data

    name: str = Field(min_length=1)
    module: str | None = None
    file: str | None = None
    bundle_key: str | None = None
    retries: int = Field(default=0, ge=0)
    backoff: float | BackoffSpec | None = None
    """Delay before retry n (extension): fixed seconds, or ``min(cap, base * factor**(n-1))``."""
    timeout: float | None = None
    """``max_runtime`` of one attempt in seconds (enforced by the worker)."""
    max_queued_time: float | None = None
    """Seconds the action may wait before its first attempt starts (extension)."""
    deadline: float | None = None
    """Seconds from creation within which all attempts together must finish (extension)."""
    cache: CacheSpec | None = None
    env_vars: dict[str, str] = Field(default_factory=dict)
    secrets: list[SecretRef] = Field(default_factory=list)
    resources: dict[str, Any] | None = None

    def retry_delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first): the action core's formula."""
        if self.backoff is None:
            return 0.0
        if isinstance(self.backoff, BackoffSpec):
            return backoff_delay(self.backoff.base, self.backoff.factor, self.backoff.cap, retry)
        return max(0.0, float(self.backoff))

    def policy(self) -> ActionPolicy:
        """The action core's view of this task's lifecycle settings (retries and time bounds)."""
        return ActionPolicy(
            self.name, retries=self.retries, retry_delay=self.retry_delay, max_runtime=self.timeout,
            deadline=self.deadline, max_queued=self.max_queued_time,
        )  # fmt: skip


class RunCreate(ApiModel):
    name: str | None = None
    task: TaskRef
    inputs_b64: str = ""
    env_vars: dict[str, str] = Field(default_factory=dict)
    custom_context: dict[str, str] = Field(default_factory=dict)
    overwrite_cache: bool = False
    disable_run_cache: bool = False
    """No action of the run reads or writes the cache (``flyte.with_runcontext(disable_run_cache=True)``)."""
    recover_from: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    """The run's labels (its ``project`` and ``domain`` among them, when given)."""
    max_action_concurrency: int | None = Field(default=None, ge=1)
    """At most this many of the run's actions do work at once; a parent waiting on its children
    does not count (``flyte.with_runcontext(max_action_concurrency=...)``)."""
    raw_data_path: str | None = Field(default=None, min_length=1, max_length=4096)
    """Where the run's tasks write their data, instead of the server's default
    (``flyte.with_runcontext(raw_data_path=...)``: a directory of the workers or a storage URL)."""


class Run(ApiModel):
    name: str
    task_name: str
    phase: str
    created_at: float
    ended_at: float | None = None
    error_type: str | None = None
    error_message: str | None = None
    source_run: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    url: str


class AbortRequest(ApiModel):
    reason: str = "aborted by user"


class RerunRequest(ApiModel):
    recover: bool = False
    name: str | None = None


ACTION_NAME = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$"
"""Action names become parts of paths (a worker's output directory): one safe segment, no leading dot."""


class ActionCreate(ApiModel):
    name: str = Field(pattern=ACTION_NAME)
    parent: str = Field(pattern=ACTION_NAME)
    task: TaskRef
    inputs_b64: str = ""
    group: str | None = None
    custom_context: dict[str, str] = Field(default_factory=dict)


class Action(ApiModel):
    run_name: str
    name: str
    parent: str | None = None
    task_name: str
    group: str | None = None
    phase: str
    attempts: int
    created_at: float
    started_at: float | None = None
    ended_at: float | None = None
    error_type: str | None = None
    error_message: str | None = None
    error_code: str | None = None
    """The error's own ``code`` when it is not its type name (extension)."""
    cache_status: str | None = None
    history: list[tuple[str, float, int]] = Field(default_factory=list)
    traceback: str | None = None
    """The user frames of the error that failed the action, when it has one."""
    report: str | None = None
    """Path of the API route serving the action's report (``report=True`` tasks), once written."""


class ActionIO(ApiModel):
    inputs_b64: str | None = None
    outputs_b64: str | None = None


class Event(ApiModel):
    seq: int
    kind: Literal["phase", "log"]
    action: str
    phase: str | None = None
    at: float
    line: str | None = None
    stream: str | None = None


class WatchResult(ApiModel):
    seq: int
    events: list[Event]
    done: bool = False
    """True once the run has ended and every event up to ``seq`` was delivered (extension)."""


class LogLine(ApiModel):
    action: str
    attempt: int
    stream: str
    at: float
    line: str


class KeyRequest(ApiModel):
    key: str


class UploadUrl(ApiModel):
    url: str
    key: str
    expires_at: float


class DownloadUrl(ApiModel):
    url: str
    expires_at: float


class Uploaded(ApiModel):
    key: str
    size: int
    sha256: str


class ClaimRequest(ApiModel):
    worker_id: str = Field(min_length=1, max_length=200)
    max: int = Field(default=1, ge=1, le=256)
    timeout: float = Field(default=30.0, ge=0, le=300)
    """Seconds the long poll may wait (at most 5 minutes)."""


class Assignment(ApiModel):
    run: str
    action: str
    attempt: int
    task: TaskRef
    inputs_b64: str
    custom_context: dict[str, str]
    env: dict[str, str]
    raw_data_path: str
    source_run: str | None = None
    group: str | None = None
    """The ``flyte.group`` the action was called in (the worker sets ``flyte.ctx().group_data``)."""
    created_at: float | None = None
    """When the action was created: the worker enforces its ``deadline`` from it (action core rule 6)."""


class Heartbeat(ApiModel):
    worker_id: str
    actions: list[tuple[str, str, int]] = Field(default_factory=list)
    wait: float = Field(default=0.0, ge=0.0, le=60.0)
    """Long-poll: hold the answer up to this many seconds until an action of the worker is aborted
    (the leases are renewed on arrival and again on answering), so that aborts reach it at once."""


class HeartbeatReply(ApiModel):
    abort: list[tuple[str, str]]


class Report(ApiModel):
    worker_id: str
    run: str
    action: str
    attempt: int
    phase: Literal["succeeded", "failed", "timed_out"]
    outputs_b64: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    error_kind: Literal["user", "system"] = "user"
    retryable: bool = True
    error_traceback: str | None = Field(default=None, max_length=100_000)
    """The user frames of the attempt's error (``flyte._internal.tracebacks``)."""
    error_code: str | None = Field(default=None, max_length=200)
    """The error's own ``code`` when it is not its type name (``RuntimeUserError("Quota", ...)``)."""
    attempt_started: bool = True
    """False when the attempt failed before it began (a missing secret): it is not counted, and
    the action ends without a retry (rule 5 of the action core)."""
    report_key: str | None = None
    """Storage key of the attempt's report, uploaded through the data proxy before this report."""


class Ok(ApiModel):
    ok: bool = True
    ignored: bool = False
    """True when the report was stale (its attempt is no longer the current one) (extension)."""


class LogBatch(ApiModel):
    run: str
    action: str
    attempt: int
    lines: list[tuple[str, float, str]]


class TraceIn(ApiModel):
    run: str
    action: str
    seq: int
    name: str
    inputs_b64: str | None = None
    outputs_b64: str | None = None
    error: str | None = None
    started_at: float
    ended_at: float


class Trace(ApiModel):
    action: str
    seq: int
    name: str
    inputs_b64: str | None = None
    outputs_b64: str | None = None
    error: str | None = None
    started_at: float
    ended_at: float


# -- batched routes (docs/control-plane.md, "Throughput") ------------------------------------------------

MAX_BATCH = 500
"""Items in one batched request (children created, outputs read, attempts reported)."""


class ActionBatch(ApiModel):
    """``POST /runs/{run}/actions:batch``: several children of one run, created in one commit."""

    actions: list[ActionCreate] = Field(min_length=1, max_length=MAX_BATCH)


class ActionBatchItem(ApiModel):
    """The answer for one child of an ``ActionBatch``, in the order they were sent: the action
    (``created`` False when the name existed), or the HTTP status and message the single-action
    route would have answered."""

    action: Action | None = None
    created: bool = False
    status: int = 201
    error: str | None = None


class ActionBatchResult(ApiModel):
    results: list[ActionBatchItem]


class OutputsRequest(ApiModel):
    """``POST /runs/{run}/outputs:batch``: the outputs of several actions of one run."""

    names: list[str] = Field(min_length=1, max_length=MAX_BATCH)


class OutputsResult(ApiModel):
    outputs: dict[str, str | None]
    """Base64 outputs by action name (None while an action has none); unknown names are left out."""


class ReportBatch(ApiModel):
    """``POST /executor/report:batch``: the outcomes of several attempts."""

    reports: list[Report] = Field(min_length=1, max_length=MAX_BATCH)


class ReportBatchResult(ApiModel):
    results: list[Ok]
