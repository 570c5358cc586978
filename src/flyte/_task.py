"""TaskTemplate: a function turned into a task by ``@env.task``.

Calling a template routes the call: outside a run it is a plain function call; inside a run it
becomes a child action handed to the run's controller.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from typing_extensions import ParamSpec

from flyte._cache import Cache, cache_from_request
from flyte._context import current_frame
from flyte._interface import NativeInterface
from flyte._retry import RetryStrategy, retry_from
from flyte._secret import Secret, secrets_from_request
from flyte._timeout import Timeout, timeout_from
from flyte.errors import SyncTaskCallInAsyncContextError, TraceDoesNotAllowNestedTasksError
from flyte.models import MAX_INLINE_IO_BYTES

if TYPE_CHECKING:
    from flyte._resources import Resources

P = ParamSpec("P")
R = TypeVar("R")

_UNSET: Any = object()
"""Distinguishes "not given" from None in override()."""


@dataclass(kw_only=True, eq=False)  # not frozen: plugin templates subclass it as plain dataclasses
class TaskTemplate(Generic[P, R]):
    """A task: a typed function plus how to run it (cache, retries, timeout, resources...).

    Created by ``TaskEnvironment.task``; users do not construct it directly.
    """

    runs_execute: ClassVar[bool] = False
    """Whether the engine runs an attempt through ``execute()`` rather than calling ``func``: true
    for plugin templates (``flyte.extend.AsyncFunctionTaskTemplate``) that override a hook."""

    func: Callable[P, R]
    name: str
    """Fully qualified name: ``<environment name>.<function name>``."""
    short_name: str
    env_name: str
    interface: NativeInterface
    is_async: bool
    cache: Cache
    retries: RetryStrategy
    timeout: Timeout | None
    resources: Resources | None = None
    secrets: tuple[Secret, ...] = ()
    env_vars: dict[str, str] = field(default_factory=dict)
    image: Any = "auto"
    docs: Any = None
    pod_template: Any = None
    report: bool = False
    interruptible: bool = False
    max_inline_io_bytes: int = MAX_INLINE_IO_BYTES
    queue: str | None = None
    triggers: tuple[Any, ...] = ()
    links: tuple[Any, ...] = ()
    reusable: Any = None
    plugin_config: Any = None
    notifications: tuple[Any, ...] = ()
    """flyte.notify objects sent when an action of this task ends (flyte-engine extension)."""
    produces_artifacts: Any = False
    """Whether (or which artifacts) this task publishes: True, or a tuple of artifact handles."""
    entrypoint: bool = False
    """Marks a task meant to be launched directly (a run's root) rather than only called by other
    tasks; UIs and listings can single such tasks out. Any task can still be run directly."""

    @property
    def native_interface(self) -> NativeInterface:
        return self.interface

    @property
    def __name__(self) -> str:  # so that templates look like the functions they wrap
        return self.func.__name__

    def __repr__(self) -> str:
        return f"TaskTemplate({self.name}{self.interface!r})"

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        frame = current_frame()
        if frame is None:
            return self.forward(*args, **kwargs)
        if frame.in_trace:
            raise TraceDoesNotAllowNestedTasksError(
                f"Task '{self.name}' was called inside a @flyte.trace function; traces cannot call tasks"
            )
        if asyncio._get_running_loop() is not None:
            if self.is_async:
                return frame.controller.submit(self, args, kwargs, frame)  # type: ignore[return-value]
            return _blocking_call_from_async(self, args, kwargs, frame)
        return frame.controller.submit_sync(self, args, kwargs, frame)

    async def aio(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Await this task from async code, whether the task itself is sync or async."""
        frame = current_frame()
        if frame is None:
            result = self.func(*args, **kwargs)
            return await result if self.is_async else result  # type: ignore[misc]
        if frame.in_trace:
            raise TraceDoesNotAllowNestedTasksError(
                f"Task '{self.name}' was called inside a @flyte.trace function; traces cannot call tasks"
            )
        return await frame.controller.submit(self, args, kwargs, frame)

    def forward(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call the plain function, bypassing the engine."""
        return self.func(*args, **kwargs)

    def override(
        self,
        *,
        short_name: str | None = None,
        resources: Resources | None = None,
        cache: Any = _UNSET,
        retries: Any = _UNSET,
        timeout: Any = _UNSET,
        env_vars: dict[str, str] | None = None,
        secrets: Any = _UNSET,
        max_inline_io_bytes: int | None = None,
        pod_template: Any = _UNSET,
        queue: str | None = None,
        interruptible: bool | None = None,
        reusable: Any = _UNSET,
        links: Any = _UNSET,
        notifications: Any = _UNSET,
        produces_artifacts: Any = _UNSET,
        entrypoint: bool | None = None,
        **unknown: Any,
    ) -> TaskTemplate[P, R]:
        """A copy of this task with some settings replaced; the original is left untouched."""
        if unknown:
            raise TypeError(
                f"Task '{self.name}'.override() got unknown option(s): {', '.join(sorted(unknown))}"
            )
        changes: dict[str, Any] = {}
        if short_name is not None:
            changes["short_name"] = short_name
        if resources is not None:
            changes["resources"] = resources
        if cache is not _UNSET:
            changes["cache"] = cache_from_request(cache)
        if retries is not _UNSET:
            changes["retries"] = retry_from(retries)
        if timeout is not _UNSET:
            changes["timeout"] = timeout_from(timeout)
        if env_vars is not None:
            changes["env_vars"] = {**self.env_vars, **env_vars}
        if secrets is not _UNSET:
            changes["secrets"] = secrets_from_request(secrets)
        if max_inline_io_bytes is not None:
            changes["max_inline_io_bytes"] = _check_inline_limit(max_inline_io_bytes, self.name)
        if pod_template is not _UNSET:
            changes["pod_template"] = pod_template
        if queue is not None:
            changes["queue"] = queue
        if interruptible is not None:
            changes["interruptible"] = interruptible
        if reusable is not _UNSET:
            changes["reusable"] = reusable
        if links is not _UNSET:
            changes["links"] = tuple(links or ())
        if notifications is not _UNSET:
            changes["notifications"] = _notifications_of(notifications, self.name)
        if produces_artifacts is not _UNSET:
            changes["produces_artifacts"] = produces_artifacts
        if entrypoint is not None:
            changes["entrypoint"] = _check_entrypoint(entrypoint, self.name)
        return dataclasses.replace(self, **changes)


def _notifications_of(value: Any, task_name: str) -> tuple[Any, ...]:
    if not value:
        return ()
    from flyte.notify._notifiers import normalize  # only tasks that notify load flyte.notify

    return normalize(value, f"Task '{task_name}'")


def _check_inline_limit(value: int, task_name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"Task '{task_name}': max_inline_io_bytes must be a positive int, got {value!r}")
    return value


_warned_blocking: set[str] = set()


def _blocking_call_from_async(
    task: TaskTemplate, args: tuple[Any, ...], kwargs: dict[str, Any], frame: Any
) -> Any:
    """``sync_task(...)`` inside an async task: the reference blocks until the child is done; so do we.

    Where the async task's body is stepped by the blocking-call bridge (``runtime.bridge``: its
    code names a sync task), the call waits without blocking the event loop, with any controller
    (local, in a worker process, on a devbox worker). Otherwise, in a local run, the child action
    runs on a private loop in a helper thread (``LocalController.submit_blocking_from_loop``).
    A warning names the non-blocking form once per task; FLYTE_STRICT_SYNC_CALLS=1 turns the call
    into a SyncTaskCallInAsyncContextError instead.
    """
    import os

    from flyte._internal.controllers.local import LocalController
    from flyte._internal.runtime.bridge import NotBridged, wait_blocking

    hint = (
        f"Sync task '{task.name}' was called as '{task.short_name}(...)' from async task "
        f"'{frame.tctx.task_name}'; that blocks the event loop. "
        f"Use 'await {task.short_name}.aio(...)' instead."
    )
    if os.environ.get("FLYTE_STRICT_SYNC_CALLS", "").lower() in ("1", "true", "yes"):
        raise SyncTaskCallInAsyncContextError(hint)
    if task.name not in _warned_blocking:
        _warned_blocking.add(task.name)
        from flyte._logging import system_logger

        system_logger.warning(hint)
    try:
        return wait_blocking(frame.controller.submit(task, args, kwargs, frame))
    except NotBridged:
        pass
    if not isinstance(frame.controller, LocalController):
        raise SyncTaskCallInAsyncContextError(hint)
    return frame.controller.submit_blocking_from_loop(task, args, kwargs, frame)


def is_async_function(func: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(func)


_PLUGIN_TEMPLATES: dict[type, type[TaskTemplate[Any, Any]]] = {}
"""Template class by ``plugin_config`` type; plugins register here when their module is imported."""


def register_task_plugin(config_type: type, template_type: type[TaskTemplate[Any, Any]]) -> None:
    """Build tasks whose ``plugin_config`` is a ``config_type`` as ``template_type`` instances."""
    _PLUGIN_TEMPLATES[config_type] = template_type


def _check_entrypoint(value: Any, task_name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(
            f"Task '{task_name}': entrypoint must be True or False, got {type(value).__name__}: {value!r}"
        )
    return value


def make_task(
    func: Callable[..., Any],
    *,
    env_name: str,
    short_name: str | None,
    cache: Any,
    retries: Any,
    timeout: Any,
    max_inline_io_bytes: int,
    **settings: Any,
) -> TaskTemplate[Any, Any]:
    """Build a template from a function and already-merged environment/task settings."""
    if not callable(func):
        raise TypeError(f"@task must decorate a function, got {func!r}")
    if inspect.isasyncgenfunction(func) or inspect.isgeneratorfunction(func):
        raise TypeError(f"Task '{env_name}.{func.__name__}': generator functions cannot be tasks")
    name = f"{env_name}.{func.__name__}"
    if settings.get("notifications"):
        settings["notifications"] = _notifications_of(settings["notifications"], name)
    if "entrypoint" in settings:
        settings["entrypoint"] = _check_entrypoint(settings["entrypoint"], name)
    template_type = _PLUGIN_TEMPLATES.get(type(settings.get("plugin_config")), TaskTemplate)
    return template_type(
        func=func,
        name=name,
        short_name=short_name or func.__name__,
        env_name=env_name,
        interface=NativeInterface.from_callable(func),
        is_async=is_async_function(func),
        cache=cache_from_request(cache),
        retries=retry_from(retries),
        timeout=timeout_from(timeout),
        max_inline_io_bytes=_check_inline_limit(max_inline_io_bytes, name),
        **settings,
    )


def __getattr__(name: str) -> Any:
    # The reference SDK defines the plugin base class here; it lives in flyte.extend.
    if name == "AsyncFunctionTaskTemplate":
        from flyte.extend import AsyncFunctionTaskTemplate

        return AsyncFunctionTaskTemplate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
