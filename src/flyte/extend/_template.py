"""``AsyncFunctionTaskTemplate``: the base class of task plugins.

A plugin is a config class plus a template class registered for it::

    @dataclass
    class Shout:
        suffix: str = "!"

    @dataclass(kw_only=True)
    class ShoutTask(AsyncFunctionTaskTemplate):
        task_type: str = "shout"
        plugin_config: Shout

        async def execute(self, *args, **kwargs):
            value = await super().execute(*args, **kwargs)
            return value.upper() + self.plugin_config.suffix

    TaskPluginRegistry.register(Shout, ShoutTask)

Tasks of ``TaskEnvironment(..., plugin_config=Shout())`` are then ``ShoutTask`` instances, and the
engine runs each attempt through ``execute`` (locally, in a worker process, or on the devbox), with
the inputs as keyword arguments and ``flyte.ctx()`` set for the action. A template that overrides
none of ``pre``/``execute``/``post`` costs nothing extra: the engine calls ``func`` directly.
"""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass
from typing import Any, ClassVar

from flyte._cache import cache_from_request
from flyte._context import current_frame, reset_frame, set_frame
from flyte._retry import retry_from
from flyte._secret import secrets_from_request
from flyte._task import P, R, TaskTemplate
from flyte._timeout import timeout_from

_HOOKS = ("pre", "execute", "post")


@dataclass(kw_only=True, eq=False)
class AsyncFunctionTaskTemplate(TaskTemplate[P, R]):
    """A task template that plugins subclass to change how a task's attempts run.

    Override ``execute`` (and/or ``pre`` and ``post``) to wrap or replace the call of ``func``;
    override ``forward`` to change what calling the task outside a run does. Constructed by
    ``@env.task`` for an environment whose ``plugin_config`` type is registered, or directly with
    the reference SDK's keywords (``func``, ``name``, ``interface``, ``cache="disable"``,
    ``retries=0``, ``timeout=None``...): the rest is derived.
    """

    # Defaults so that a template can be built from the reference's keywords alone.
    short_name: str = ""
    env_name: str = ""
    is_async: bool = None  # type: ignore[assignment]  # derived from func when not given
    cache: Any = "disable"
    retries: Any = 0
    timeout: Any = None
    task_type: str = "python"
    task_type_version: int = 0
    debuggable: bool = True
    task_resolver: Any = None
    parent_env: Any = None
    parent_env_name: str | None = None
    entrypoint: bool = False

    runs_execute: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.runs_execute = any(getattr(cls, h) is not getattr(AsyncFunctionTaskTemplate, h) for h in _HOOKS)
        # Plugin classes are usually declared '@dataclass(kw_only=True)', which would give them a
        # field-by-field __eq__ and make them unhashable; tasks compare and hash by identity.
        if "__eq__" not in cls.__dict__:
            cls.__eq__ = object.__eq__  # type: ignore[assignment,method-assign]
        if "__hash__" not in cls.__dict__:
            cls.__hash__ = object.__hash__  # type: ignore[assignment,method-assign]

    def __post_init__(self) -> None:
        func_name = getattr(self.func, "__name__", "task")
        if not self.name:
            self.name = func_name
        if not self.short_name:
            self.short_name = func_name
        if not self.env_name:
            self.env_name = self.parent_env_name or (self.name.rpartition(".")[0] or self.name)
        if self.is_async is None:
            self.is_async = inspect.iscoroutinefunction(self.func)
        self.cache = cache_from_request(self.cache)
        self.retries = retry_from(self.retries)
        self.timeout = timeout_from(self.timeout)
        if not isinstance(self.secrets, tuple):
            self.secrets = secrets_from_request(self.secrets)
        if self.env_vars is None:
            self.env_vars = {}

    @property
    def source_file(self) -> str | None:
        """The file that defines ``func``, when known."""
        code = getattr(self.func, "__code__", None)
        return code.co_filename if code is not None else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name}{self.interface!r})"

    async def pre(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Runs before ``func`` in the default ``execute``; what it returns becomes ``flyte.ctx().data``."""
        return {}

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        """Run one attempt: ``pre``, then ``func`` with the task's inputs, then ``post``.

        A sync ``func`` runs on a thread of its own, so it may block and call sync tasks.
        """
        data = await self.pre(*args, **kwargs)
        frame = current_frame()
        token = None
        if data and frame is not None:
            token = set_frame(frame.with_tctx(data={**frame.tctx.data, **data}))
        try:
            if inspect.iscoroutinefunction(self.func):
                value = await self.func(*args, **kwargs)
            else:
                value = await asyncio.to_thread(self.func, *args, **kwargs)
                if inspect.isawaitable(value):
                    value = await value
            await self.post(value)
        finally:
            if token is not None:
                reset_frame(token)
        return value

    async def post(self, return_vals: Any) -> Any:
        """Runs after ``func`` in the default ``execute`` with what it returned."""
        return return_vals

    # Serialization hooks of the reference SDK. flyte-engine's deploy records none of them; they
    # exist so that plugins overriding them load and run.
    def config(self, sctx: Any) -> dict[str, str]:
        return {}

    def custom_config(self, sctx: Any) -> dict[str, Any]:
        return {}

    def data_loading_config(self, sctx: Any) -> Any:
        return None

    def container_args(self, sctx: Any) -> list[str]:
        return []

    def sql(self, sctx: Any) -> str | None:
        return None
