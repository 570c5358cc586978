"""``env.sandbox``: sandboxed tasks that belong to a ``TaskEnvironment``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flyte._interface import NativeInterface

from ._api import _caller_module, code_task
from ._config import SandboxedConfig
from ._task import SandboxedTaskTemplate

if TYPE_CHECKING:
    from flyte._environment import TaskEnvironment


class SandboxNamespace:
    """What ``env.sandbox`` returns: ``orchestrator`` as a decorator, a decorator factory, or a
    factory of tasks from code strings, each sharing the environment's image and cache."""

    def __init__(self, env: TaskEnvironment) -> None:
        self._env = env

    def orchestrator(
        self,
        _func_or_source: Any = None,
        /,
        *,
        tasks: list[Any] | None = None,
        inputs: dict[str, type] | None = None,
        output: Any = type(None),
        timeout_ms: int = 30_000,
        max_memory: int = 50 * 1024 * 1024,
        max_stack_depth: int = 256,
        type_check: bool = True,
        name: str | None = None,
        cache: Any = None,
        retries: int = 0,
    ) -> Any:
        """``@env.sandbox.orchestrator`` (bare or with options) makes a sandboxed task of this
        environment, named ``<env>.<function>``; given a code string, a task running that code."""
        env = self._env
        cache = env.cache if cache is None else cache
        if isinstance(_func_or_source, str):
            return code_task(
                _func_or_source,
                inputs=inputs or {},
                output=output,
                tasks=tasks,
                name=name or "sandboxed-code",
                timeout_ms=timeout_ms,
                cache=cache,
                retries=retries,
                image=env.image,
                module=_caller_module(),
            )
        config = SandboxedConfig(max_memory, max_stack_depth, timeout_ms, type_check)

        def decorate(func: Callable[..., Any]) -> SandboxedTaskTemplate:
            task_name = name or f"{env.name}.{func.__name__}"
            if task_name in env._tasks:
                raise ValueError(f"TaskEnvironment '{env.name}' already has a task named '{func.__name__}'")
            template = SandboxedTaskTemplate(
                func=func,
                name=task_name,
                env_name=env.name,
                interface=NativeInterface.from_callable(func),
                plugin_config=config,
                image=env.image,
                cache=cache,
                retries=retries,
                resources=env.resources,
                env_vars=dict(env.env_vars or {}),
                parent_env_name=env.name,
            )
            env._tasks[task_name] = template
            return template

        if _func_or_source is None:
            return decorate
        if callable(_func_or_source):
            return decorate(_func_or_source)
        raise TypeError(
            "env.sandbox.orchestrator takes a function or a code string, got "
            f"{type(_func_or_source).__name__}"
        )
