"""The JSON objects of deployed work: task versions (``/api/v1/tasks``) and triggers (``/api/v1/triggers``).

A deployed task is what the client sends (:class:`TaskDeploy`): the ``TaskRef`` a worker runs, the
task's interface (input names, type descriptors, which are required, encoded defaults), its image
and its triggers. The server keeps it as JSON and never imports the user's code.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from flyte.server.models import ApiModel, TaskRef

NAME = r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$"
"""Task names (``env.func``), versions and trigger names: one safe segment, no leading dot."""


class TypeSpec(ApiModel):
    """A Python type described for a client that does not have the task's code (``flyte.remote``)."""

    kind: str = Field(min_length=1)
    """``int``, ``float``, ``str``, ``bool``, ``bytes``, ``datetime``, ``timedelta``, ``date``, ``list``,
    ``dict``, ``optional``, ``union``, ``file``, ``dir``, ``dataframe``, ``enum``, ``none`` or ``other``."""
    args: list[TypeSpec] = Field(default_factory=list)
    values: list[str] = Field(default_factory=list)
    """The member values of an ``enum``."""
    repr: str = ""
    """How the type reads in the task's code (``list[int]``, ``MyRecord``)."""


class InputSpec(ApiModel):
    name: str = Field(min_length=1)
    type: TypeSpec
    required: bool = True
    default_repr: str | None = None


class OutputSpec(ApiModel):
    name: str = Field(min_length=1)
    type: TypeSpec


class InterfaceSpec(ApiModel):
    inputs: list[InputSpec] = Field(default_factory=list)
    outputs: list[OutputSpec] = Field(default_factory=list)
    defaults_b64: str = ""
    """The defaults of the inputs that have one, encoded together as task inputs are."""


class AutomationSpec(ApiModel):
    kind: Literal["cron", "fixed_rate"]
    expression: str | None = None
    timezone: str = "UTC"
    interval_minutes: int | None = Field(default=None, ge=1)
    start_time: float | None = None
    """Epoch seconds of a ``FixedRate``'s first tick (None: one interval after activation)."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from flyte.server.triggers.schedule import check_timezone

        check_timezone(value)
        return value


class TriggerSpec(ApiModel):
    name: str = Field(pattern=NAME)
    automation: AutomationSpec
    description: str = ""
    auto_activate: bool = True
    inputs_b64: str = ""
    """The trigger's fixed input values, encoded as task inputs are."""
    trigger_time_inputs: list[str] = Field(default_factory=list)
    """Inputs that receive the tick's scheduled time (``flyte.TriggerTime``)."""
    env_vars: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    custom_context: dict[str, str] = Field(default_factory=dict)
    overwrite_cache: bool = False
    max_action_concurrency: int | None = Field(default=None, ge=1)
    """Of each run this trigger starts (``flyte.Trigger(max_action_concurrency=...)``; 0 there is none)."""
    notifications: list[dict[str, Any]] = Field(default_factory=list)
    """``flyte.notify`` rules for the runs this trigger starts (sent by the server when they end)."""


class TaskDeploy(ApiModel):
    """``POST /api/v1/tasks``: one version of one task."""

    name: str = Field(pattern=NAME)
    version: str = Field(pattern=NAME)
    environment: str = ""
    short_name: str = ""
    task: TaskRef
    interface: InterfaceSpec = Field(default_factory=InterfaceSpec)
    image: str | None = None
    triggers: list[TriggerSpec] = Field(default_factory=list)
    docs: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    """Anything else the client records (pod spec, links...), kept as given."""


class DeployedTask(ApiModel):
    name: str
    version: str
    created_at: float
    spec: TaskDeploy
    created: bool = False
    """True when this request registered the version; False when it existed with the same spec."""


class TriggerState(ApiModel):
    task_name: str
    name: str
    task_version: str
    active: bool
    automation: AutomationSpec
    description: str = ""
    last_scheduled: float | None = None
    next_scheduled: float | None = None
    """The next tick in trigger time (None while the trigger is inactive)."""
    created_at: float
    updated_at: float


class TriggerUpdate(ApiModel):
    active: bool


class TriggerFire(ApiModel):
    task_name: str
    trigger_name: str
    scheduled_at: float
    run_name: str
    fired_at: float
