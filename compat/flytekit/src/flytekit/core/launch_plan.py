"""``LaunchPlan``: a workflow with default and fixed inputs, a schedule and notifications.

Calling a launch plan runs its workflow with ``{**default_inputs, **given, **fixed_inputs}``:
outside a run it starts a run of the workflow; inside a workflow it is a node whose action is the
workflow's. A schedule becomes a ``flyte.Trigger`` (``trigger``): a ``CronSchedule`` a
``flyte.Cron``, a ``FixedRate`` a ``flyte.FixedRate``, with the fixed and default inputs as the
trigger's inputs and ``kickoff_time_input_arg`` bound to the scheduled time, named after the
launch plan. ``pyflyte register`` deploys the workflow task with that trigger, which makes the
devbox's scheduler fire it (see ``flytekit.clis.sdk_in_container.register``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from flytekit.core.base_task import route_call


class LaunchPlan:
    """flytekit's launch plan (create with :meth:`get_or_create`)."""

    _registry: ClassVar[dict[str, LaunchPlan]] = {}

    def __init__(
        self,
        name: str,
        workflow: Any,
        default_inputs: dict[str, Any] | None = None,
        fixed_inputs: dict[str, Any] | None = None,
        schedule: Any = None,
        notifications: Any = None,
        labels: Any = None,
        annotations: Any = None,
        max_parallelism: int | None = None,
        auto_activate: bool = False,
        overwrite_cache: bool | None = None,
        trigger: Any = None,
        **_ignored: Any,
    ) -> None:
        self.name = name
        self.fk_name = name
        self.workflow = workflow
        self.default_inputs = dict(default_inputs or {})
        self.fixed_inputs = dict(fixed_inputs or {})
        for key in (*self.default_inputs, *self.fixed_inputs):
            if key not in workflow.fk_inputs:
                raise TypeError(f"LaunchPlan '{name}': workflow '{workflow.name}' has no input '{key}'")
        self.schedule = schedule
        self.notifications = (
            list(notifications or []) if not isinstance(notifications, list) else notifications
        )
        self.labels = labels
        self.annotations = annotations
        self.max_parallelism = max_parallelism
        self.auto_activate = auto_activate
        self.overwrite_cache = overwrite_cache
        self.fk_outputs = workflow.fk_outputs
        self.fk_output_tuple = workflow.fk_output_tuple
        self.fk_inputs = {
            k: (tp, self.default_inputs.get(k, default))
            for k, (tp, default) in workflow.fk_inputs.items()
            if k not in self.fixed_inputs
        }
        self._trigger = trigger

    @classmethod
    def get_or_create(
        cls,
        workflow: Any,
        name: str | None = None,
        default_inputs: dict[str, Any] | None = None,
        fixed_inputs: dict[str, Any] | None = None,
        schedule: Any = None,
        notifications: Any = None,
        **kwargs: Any,
    ) -> LaunchPlan:
        """The launch plan named ``name`` (the workflow's default one without a name).

        As in flytekit, asking again for an existing name with different settings is an error.
        """
        if name is None:
            return cls.get_default_launch_plan(None, workflow)
        existing = cls._registry.get(name)
        if existing is not None:
            same = (
                existing.workflow.name == workflow.name
                and existing.default_inputs == dict(default_inputs or {})
                and existing.fixed_inputs == dict(fixed_inputs or {})
                and existing.schedule == schedule
            )
            if not same:
                raise AssertionError(
                    f"LaunchPlan '{name}' already exists with other settings; give this one another name"
                )
            if existing.workflow is workflow:
                return existing
            # the same module imported again (a worker, another module name): the new definition wins
        lp = cls(name, workflow, default_inputs, fixed_inputs, schedule, notifications, **kwargs)
        cls._registry[name] = lp
        return lp

    @classmethod
    def get_default_launch_plan(cls, ctx: Any, workflow: Any) -> LaunchPlan:
        name = workflow.name
        existing = cls._registry.get(name)
        if existing is None or existing.workflow is not workflow:
            existing = cls._registry[name] = cls(name, workflow)
        return existing

    def __repr__(self) -> str:
        return f"LaunchPlan({self.name!r}, workflow={self.workflow.name!r})"

    @property
    def python_interface(self) -> Any:
        return self.workflow.interface

    def _merged(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        fixed = [k for k in kwargs if k in self.fixed_inputs]
        if fixed:
            raise TypeError(
                f"LaunchPlan '{self.name}': input(s) {', '.join(fixed)} are fixed and cannot be given"
            )
        return {**self.default_inputs, **kwargs, **self.fixed_inputs}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args:
            raise TypeError(f"LaunchPlan '{self.name}' takes keyword arguments only")
        return route_call(
            self,
            (),
            kwargs,
            plain=lambda: self.workflow(**self._merged(kwargs)),
            in_run=lambda: self.workflow(**self._merged(kwargs)),
        )

    async def fk_run(self, kwargs: dict[str, Any], overrides: dict[str, Any]) -> Any:
        return await self.workflow.fk_run(self._merged(kwargs), overrides)

    @property
    def trigger(self) -> Any:
        """The ``flyte.Trigger`` of this launch plan's schedule (None without a schedule)."""
        if self._trigger is not None or self.schedule is None:
            return self._trigger
        import flyte

        inputs: dict[str, Any] = {**self.default_inputs, **self.fixed_inputs}
        kickoff = getattr(self.schedule, "kickoff_time_input_arg", None)
        if kickoff:
            inputs[kickoff] = flyte.TriggerTime
        notify = None
        if self.notifications:
            from flytekit.core.notification import to_flyte

            notify = to_flyte(self.notifications)
        self._trigger = flyte.Trigger(
            name=self.name,
            automation=self.schedule.to_flyte(),
            inputs=inputs or None,
            auto_activate=self.auto_activate,
            notifications=notify,
        )
        return self._trigger

    def workflow_with_trigger(self) -> Any:
        """The workflow task with this launch plan's trigger attached (what ``flyte deploy`` takes)."""
        import dataclasses

        return dataclasses.replace(self.workflow, triggers=(self.trigger,)) if self.trigger else self.workflow
