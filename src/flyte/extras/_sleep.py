"""``Sleep``: tasks whose only job is to wait for a duration (the ``core-sleep`` task type).

On a Flyte backend such a task never starts a container: the platform waits for the
``timedelta`` input and the function body is not run. Locally we do the same: the action
sleeps for the duration (durably, see :mod:`flyte.durable`) and the body is skipped.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import flyte.durable
from flyte._task import TaskTemplate, register_task_plugin


@dataclass
class Sleep:
    """Plugin config that turns the tasks of an environment into sleep tasks.

    The duration is the task's single ``timedelta`` input; the task has no outputs::

        sleep_env = flyte.TaskEnvironment(name="sleepers", plugin_config=Sleep())

        @sleep_env.task
        async def wait(duration: timedelta) -> None: ...
    """


def _duration_input(task: TaskTemplate[Any, Any]) -> str:
    inputs = task.interface.inputs
    if len(inputs) != 1 or next(iter(inputs.values()))[0] is not timedelta:
        got = ", ".join(f"{k}: {getattr(t, '__name__', t)}" for k, (t, _) in inputs.items()) or "none"
        raise TypeError(
            f"Sleep task '{task.name}' must take exactly one input typed datetime.timedelta "
            f"(the duration), got inputs: {got}"
        )
    if task.interface.outputs:
        raise TypeError(f"Sleep task '{task.name}' cannot have outputs; annotate it '-> None'")
    return next(iter(inputs))


def _sleeper(func: Callable[..., Any], is_async: bool) -> Callable[..., Any]:
    """A stand-in for ``func`` that sleeps for its duration argument instead of running the body."""
    signature = inspect.signature(func)

    def duration_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> float:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return max(0.0, next(iter(bound.arguments.values())).total_seconds())

    if is_async:

        @functools.wraps(func)
        async def sleep_async(*args: Any, **kwargs: Any) -> None:
            await flyte.durable.sleep.aio(duration_of(args, kwargs))

        wrapper: Any = sleep_async
    else:

        @functools.wraps(func)
        def sleep_sync(*args: Any, **kwargs: Any) -> None:
            flyte.durable.sleep(duration_of(args, kwargs))

        wrapper = sleep_sync
    wrapper.__flyte_sleep_body__ = func
    return wrapper


@dataclass(kw_only=True, eq=False)
class SleepTask(TaskTemplate[Any, Any]):
    """The template built for a task of an environment whose ``plugin_config`` is ``Sleep()``."""

    plugin_config: Sleep
    task_type: str = "core-sleep"

    def __post_init__(self) -> None:
        _duration_input(self)
        if not hasattr(self.func, "__flyte_sleep_body__"):  # override() copies an already wrapped func
            object.__setattr__(self, "func", _sleeper(self.func, self.is_async))


register_task_plugin(Sleep, SleepTask)
