"""Schedules that start task runs: ``flyte.Trigger`` with a ``flyte.Cron`` or ``flyte.FixedRate`` automation.

``flyte.TriggerTime`` is a placeholder input value: a trigger binds it to the time the run was
scheduled for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional, Union

__all__ = ["Cron", "FixedRate", "Timezone", "Trigger", "TriggerTime"]

# Any IANA zone name ("UTC", "Europe/London", "US/Eastern", ...); checked against the zone database.
Timezone = str

_MAX_DESCRIPTION = 255
_CRON_ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


class _trigger_time:
    """Type of :data:`TriggerTime`; there is exactly one instance."""

    _instance: Optional[_trigger_time] = None

    def __new__(cls) -> _trigger_time:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "flyte.TriggerTime"

    def __reduce__(self) -> str:
        return "TriggerTime"  # unpickles to the module-level singleton


TriggerTime = _trigger_time()
"""Use as a value in ``Trigger(inputs={...})`` to receive the run's scheduled time in that input."""


def _check_cron(expression: str) -> None:
    if not isinstance(expression, str) or not expression.strip():
        raise ValueError(f"Cron expression: expected a cron string such as '0 * * * *', got {expression!r}")
    text = expression.strip()
    if text.startswith("@"):
        if text.lower() not in _CRON_ALIASES:
            raise ValueError(
                f"Cron expression: {expression!r} is not a known shortcut; use one of "
                f"{', '.join(_CRON_ALIASES)} "
                "or five fields 'minute hour day-of-month month day-of-week'"
            )
        return
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(
            f"Cron expression: {expression!r} has {len(fields)} fields; "
            "use five: 'minute hour day-of-month month day-of-week' (e.g. '0 * * * *')"
        )
    from croniter import croniter

    if not croniter.is_valid(text):
        raise ValueError(
            f"Cron expression: {expression!r} is not a valid cron schedule; "
            "use five fields 'minute hour day-of-month month day-of-week', e.g. '*/5 * * * *'"
        )


def _check_timezone(timezone: str) -> None:
    if not isinstance(timezone, str) or not timezone.strip():
        raise ValueError(
            f"Cron timezone: expected a zone name such as 'UTC' or 'Europe/London', got {timezone!r}"
        )
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        if timezone.upper() == "UTC":  # no zone database installed; UTC needs none
            return
        raise ValueError(
            f"Cron timezone: {timezone!r} is not a known time zone; use an IANA name such as 'UTC', "
            "'US/Eastern' or 'Europe/London'"
        ) from None


@dataclass(frozen=True)
class Cron:
    """Run on a cron schedule.

    Args:
        expression: five fields ``minute hour day-of-month month day-of-week`` (``"0 * * * *"`` is hourly),
            or a shortcut such as ``"@daily"``.
        timezone: the IANA time zone the schedule is read in; ``"UTC"`` by default. Around daylight
            saving changes a run may be skipped or repeated.
    """

    expression: str
    timezone: Timezone = "UTC"

    def __post_init__(self) -> None:
        _check_cron(self.expression)
        _check_timezone(self.timezone)

    @property
    def timezone_expression(self) -> str:
        """The schedule with its zone, in the ``CRON_TZ=<zone> <expression>`` form."""
        return f"CRON_TZ={self.timezone} {self.expression}"

    def __str__(self) -> str:
        return f"Cron Trigger: {self.timezone_expression}"


@dataclass(frozen=True)
class FixedRate:
    """Run every ``interval_minutes`` minutes.

    Args:
        interval_minutes: minutes between runs, at least 1.
        start_time: when the first run happens; later runs follow at the interval. Without it the
            first run comes one interval after the trigger is activated.
    """

    interval_minutes: int
    start_time: Optional[datetime] = None

    def __post_init__(self) -> None:
        if isinstance(self.interval_minutes, bool) or not isinstance(self.interval_minutes, int):
            raise TypeError(
                "FixedRate interval_minutes: expected a whole number of minutes, got "
                f"{self.interval_minutes!r}"
            )
        if self.interval_minutes < 1:
            raise ValueError(
                f"FixedRate interval_minutes: {self.interval_minutes!r} is too small; it must be at least 1"
            )
        if self.start_time is not None and not isinstance(self.start_time, datetime):
            raise TypeError(f"FixedRate start_time: expected a datetime or None, got {self.start_time!r}")

    def __str__(self) -> str:
        return f"FixedRate Trigger: every {self.interval_minutes} minutes"


def _check_str_mapping(value: Any, what: str) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping):
        raise TypeError(f"Trigger {what}: expected a mapping of strings to strings, got {value!r}")
    for k, v in value.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"Trigger {what}: keys and values must be strings, got {k!r}: {v!r}")


@dataclass(frozen=True)
class Trigger:
    """A schedule attached to tasks (``@env.task(triggers=...)``) that starts runs of them.

    Args:
        name: the trigger's name, unique per task.
        automation: when to run: a :class:`Cron` or a :class:`FixedRate`.
        description: free text, cut to 255 characters.
        auto_activate: whether the trigger is active as soon as it is deployed.
        inputs: input values for the runs it starts; bind :data:`TriggerTime` to receive the scheduled time.
        env_vars: environment variables for those runs, overriding the task's.
        interruptible: run on interruptible capacity; ``None`` keeps the task's setting.
        overwrite_cache: recompute even where a cached result exists.
        queue: the queue runs are placed on, overriding the task's.
        max_action_concurrency: cap on concurrently running actions inside one triggered run;
            0 means the platform default, otherwise it must be at least 2.
        labels: labels added to the triggered runs.
        annotations: annotations added to the triggered runs.
        notifications: notification rules for the triggered runs (passed through as given).
        custom_context: metadata visible to every task of a triggered run.
    """

    name: str
    automation: Union[Cron, FixedRate]
    description: str = ""
    auto_activate: bool = True
    inputs: Optional[dict[str, Any]] = None
    env_vars: Optional[dict[str, str]] = None
    interruptible: Optional[bool] = None
    overwrite_cache: bool = False
    queue: Optional[str] = None
    max_action_concurrency: Optional[int] = None
    labels: Optional[Mapping[str, str]] = None
    annotations: Optional[Mapping[str, str]] = None
    notifications: Any = None
    custom_context: Optional[Mapping[str, str]] = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"Trigger name: expected a non-empty string, got {self.name!r}")
        if self.automation is None:
            raise ValueError(
                f"Trigger {self.name!r} automation: required; give flyte.Cron(...) or flyte.FixedRate(...)"
            )
        if not isinstance(self.automation, (Cron, FixedRate)):
            raise TypeError(
                f"Trigger {self.name!r} automation: expected flyte.Cron(...) or flyte.FixedRate(...), "
                f"got {self.automation!r}"
            )
        if not isinstance(self.description, str):
            raise TypeError(f"Trigger {self.name!r} description: expected a string, got {self.description!r}")
        if len(self.description) > _MAX_DESCRIPTION:
            object.__setattr__(self, "description", self.description[: _MAX_DESCRIPTION - 3] + "...")
        if self.inputs is not None:
            if not isinstance(self.inputs, Mapping):
                raise TypeError(
                    f"Trigger {self.name!r} inputs: expected a dict of input name to value, got "
                    f"{self.inputs!r}"
                )
            for key in self.inputs:
                if not isinstance(key, str) or not key.isidentifier():
                    raise ValueError(f"Trigger {self.name!r} inputs: {key!r} is not a valid input name")
        _check_str_mapping(self.env_vars, "env_vars")
        _check_str_mapping(self.labels, "labels")
        _check_str_mapping(self.annotations, "annotations")
        _check_str_mapping(self.custom_context, "custom_context")
        if self.interruptible is not None and not isinstance(self.interruptible, bool):
            raise TypeError(
                f"Trigger {self.name!r} interruptible: expected True, False or None, got "
                f"{self.interruptible!r}"
            )
        if self.queue is not None and not isinstance(self.queue, str):
            raise TypeError(f"Trigger {self.name!r} queue: expected a queue name or None, got {self.queue!r}")
        mac = self.max_action_concurrency
        if mac is not None:
            if isinstance(mac, bool) or not isinstance(mac, int):
                raise TypeError(
                    f"Trigger {self.name!r} max_action_concurrency: expected an int or None, got {mac!r}"
                )
            if mac < 0 or mac == 1:
                raise ValueError(
                    f"Trigger {self.name!r} max_action_concurrency: {mac!r} is not allowed; use 0 (platform "
                    "default) "
                    "or at least 2 (1 would deadlock: the parent action holds the only slot while its "
                    "children wait)"
                )

    def __hash__(self) -> int:
        return hash((self.name, self.automation))

    def bound_trigger_time_inputs(self) -> tuple[str, ...]:
        """Engine helper (ours): names of the inputs bound to :data:`TriggerTime`."""
        return tuple(k for k, v in (self.inputs or {}).items() if v is TriggerTime)

    @classmethod
    def _preset(
        cls,
        expression: str,
        trigger_time_input_key: Optional[str],
        inputs: Optional[dict[str, Any]],
        **kwargs: Any,
    ) -> Trigger:
        final_inputs: dict[str, Any] = {}
        if trigger_time_input_key is not None:
            final_inputs[trigger_time_input_key] = TriggerTime
        if inputs:
            final_inputs.update(inputs)
        return cls(automation=Cron(expression), inputs=final_inputs, **kwargs)

    @classmethod
    def minutely(
        cls,
        trigger_time_input_key: Optional[str] = None,
        *,
        name: str = "minutely",
        description: str = "A trigger that runs every minute",
        auto_activate: bool = True,
        inputs: Optional[dict[str, Any]] = None,
        env_vars: Optional[dict[str, str]] = None,
        interruptible: Optional[bool] = None,
        overwrite_cache: bool = False,
        queue: Optional[str] = None,
        max_action_concurrency: Optional[int] = None,
        labels: Optional[Mapping[str, str]] = None,
        annotations: Optional[Mapping[str, str]] = None,
        custom_context: Optional[Mapping[str, str]] = None,
    ) -> Trigger:
        """A trigger firing every minute (``* * * * *``); ``trigger_time_input_key`` gets the run's time."""
        return cls._preset(
            "* * * * *", trigger_time_input_key, inputs, name=name, description=description,
            auto_activate=auto_activate, env_vars=env_vars, interruptible=interruptible,
            overwrite_cache=overwrite_cache, queue=queue, max_action_concurrency=max_action_concurrency,
            labels=labels, annotations=annotations, custom_context=custom_context,
        )  # fmt: skip

    @classmethod
    def hourly(
        cls,
        trigger_time_input_key: Optional[str] = None,
        *,
        name: str = "hourly",
        description: str = "A trigger that runs every hour",
        auto_activate: bool = True,
        inputs: Optional[dict[str, Any]] = None,
        env_vars: Optional[dict[str, str]] = None,
        interruptible: Optional[bool] = None,
        overwrite_cache: bool = False,
        queue: Optional[str] = None,
        max_action_concurrency: Optional[int] = None,
        labels: Optional[Mapping[str, str]] = None,
        annotations: Optional[Mapping[str, str]] = None,
        custom_context: Optional[Mapping[str, str]] = None,
    ) -> Trigger:
        """A trigger firing at the top of every hour (``0 * * * *``)."""
        return cls._preset(
            "0 * * * *", trigger_time_input_key, inputs, name=name, description=description,
            auto_activate=auto_activate, env_vars=env_vars, interruptible=interruptible,
            overwrite_cache=overwrite_cache, queue=queue, max_action_concurrency=max_action_concurrency,
            labels=labels, annotations=annotations, custom_context=custom_context,
        )  # fmt: skip

    @classmethod
    def daily(
        cls,
        trigger_time_input_key: Optional[str] = None,
        *,
        name: str = "daily",
        description: str = "A trigger that runs daily at midnight",
        auto_activate: bool = True,
        inputs: Optional[dict[str, Any]] = None,
        env_vars: Optional[dict[str, str]] = None,
        interruptible: Optional[bool] = None,
        overwrite_cache: bool = False,
        queue: Optional[str] = None,
        max_action_concurrency: Optional[int] = None,
        labels: Optional[Mapping[str, str]] = None,
        annotations: Optional[Mapping[str, str]] = None,
        custom_context: Optional[Mapping[str, str]] = None,
    ) -> Trigger:
        """A trigger firing every day at midnight UTC (``0 0 * * *``)."""
        return cls._preset(
            "0 0 * * *", trigger_time_input_key, inputs, name=name, description=description,
            auto_activate=auto_activate, env_vars=env_vars, interruptible=interruptible,
            overwrite_cache=overwrite_cache, queue=queue, max_action_concurrency=max_action_concurrency,
            labels=labels, annotations=annotations, custom_context=custom_context,
        )  # fmt: skip

    @classmethod
    def weekly(
        cls,
        trigger_time_input_key: Optional[str] = None,
        *,
        name: str = "weekly",
        description: str = "A trigger that runs weekly on Sundays at midnight",
        auto_activate: bool = True,
        inputs: Optional[dict[str, Any]] = None,
        env_vars: Optional[dict[str, str]] = None,
        interruptible: Optional[bool] = None,
        overwrite_cache: bool = False,
        queue: Optional[str] = None,
        max_action_concurrency: Optional[int] = None,
        labels: Optional[Mapping[str, str]] = None,
        annotations: Optional[Mapping[str, str]] = None,
        custom_context: Optional[Mapping[str, str]] = None,
    ) -> Trigger:
        """A trigger firing every Sunday at midnight UTC (``0 0 * * 0``)."""
        return cls._preset(
            "0 0 * * 0", trigger_time_input_key, inputs, name=name, description=description,
            auto_activate=auto_activate, env_vars=env_vars, interruptible=interruptible,
            overwrite_cache=overwrite_cache, queue=queue, max_action_concurrency=max_action_concurrency,
            labels=labels, annotations=annotations, custom_context=custom_context,
        )  # fmt: skip

    @classmethod
    def monthly(
        cls,
        trigger_time_input_key: Optional[str] = None,
        *,
        name: str = "monthly",
        description: str = "A trigger that runs monthly on the 1st at midnight",
        auto_activate: bool = True,
        inputs: Optional[dict[str, Any]] = None,
        env_vars: Optional[dict[str, str]] = None,
        interruptible: Optional[bool] = None,
        overwrite_cache: bool = False,
        queue: Optional[str] = None,
        max_action_concurrency: Optional[int] = None,
        labels: Optional[Mapping[str, str]] = None,
        annotations: Optional[Mapping[str, str]] = None,
        custom_context: Optional[Mapping[str, str]] = None,
    ) -> Trigger:
        """A trigger firing on the 1st of every month at midnight UTC (``0 0 1 * *``)."""
        return cls._preset(
            "0 0 1 * *", trigger_time_input_key, inputs, name=name, description=description,
            auto_activate=auto_activate, env_vars=env_vars, interruptible=interruptible,
            overwrite_cache=overwrite_cache, queue=queue, max_action_concurrency=max_action_concurrency,
            labels=labels, annotations=annotations, custom_context=custom_context,
        )  # fmt: skip
