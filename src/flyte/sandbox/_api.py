"""The public functions of ``flyte.sandbox``: decorators and factories of sandboxed tasks."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import Any

from flyte._interface import NativeInterface
from flyte._task import TaskTemplate
from flyte.errors import RuntimeUserError

from ._config import SandboxedConfig
from ._monty import run_in_sandbox
from ._source import code_source
from ._task import CodeTaskTemplate, OrchestratorTaskTemplate, SandboxedTaskTemplate


def functions_by_name(tasks: list[Any] | None) -> dict[str, Any]:
    """``tasks=[...]`` as the names the sandboxed code calls them by."""
    found: dict[str, Any] = {}
    for t in tasks or ():
        if not callable(t):
            raise TypeError(f"flyte.sandbox: tasks= takes tasks or functions, got {t!r}")
        name = t.func.__name__ if isinstance(t, TaskTemplate) else t.__name__
        if name in found:
            raise ValueError(f"flyte.sandbox: two of tasks= are named '{name}'")
        found[name] = t
    return found


def code_task(
    source: str,
    *,
    inputs: dict[str, type],
    output: Any,
    tasks: list[Any] | None,
    name: str,
    timeout_ms: int,
    cache: Any,
    retries: Any,
    image: Any,
    module: str,
) -> CodeTaskTemplate:
    """A task that runs ``source`` in the sandbox (``orchestrator_from_str`` and friends)."""
    body: Any = lambda **kwargs: None  # noqa: E731  # each code task gets its own stand-in
    body.__name__ = body.__qualname__ = name.rpartition(".")[2].replace("-", "_")
    body.__module__ = module
    interface = NativeInterface(
        inputs={k: (t, inspect.Parameter.empty) for k, t in inputs.items()},
        outputs={} if output is type(None) or output is None else {"o0": output},
    )
    return CodeTaskTemplate(
        func=body,
        name=name,
        interface=interface,
        plugin_config=SandboxedConfig(timeout_ms=timeout_ms),
        image="auto" if image is None else image,
        cache=cache,
        retries=retries,
        _user_source=code_source(source),
        _user_input_names=list(inputs),
        _user_functions=functions_by_name(tasks),
    )


def _caller_module(depth: int = 2) -> str:
    return sys._getframe(depth).f_globals.get("__name__", "__main__")


def orchestrator_from_str(
    source: str,
    *,
    inputs: dict[str, type],
    output: Any = type(None),
    tasks: list[Any] | None = None,
    name: str = "sandboxed-code",
    timeout_ms: int = 30_000,
    cache: Any = "disable",
    retries: int = 0,
    image: Any = None,
) -> CodeTaskTemplate:
    """A task that runs ``source`` in the sandbox; ``flyte.run`` it like any task.

    ``inputs`` are the variables the code sees (name -> type), ``output`` the type of its last
    expression (its value is the task's output), ``tasks`` what it may call, by function name.
    """
    return code_task(
        source,
        inputs=inputs,
        output=output,
        tasks=tasks,
        name=name,
        timeout_ms=timeout_ms,
        cache=cache,
        retries=retries,
        image=image,
        module=_caller_module(),
    )


async def orchestrate_local(
    source: str,
    *,
    inputs: dict[str, Any],
    tasks: list[Any] | None = None,
    timeout_ms: int = 30_000,
) -> Any:
    """Run ``source`` once in the sandbox with these input values and return its last expression.

    No task or action is created; the tasks it calls run as they would when called here.
    """
    return await run_in_sandbox(
        code_source(source),
        dict(inputs),
        functions_by_name(tasks),
        SandboxedConfig(timeout_ms=timeout_ms),
        "flyte.sandbox.orchestrate_local",
    )


def _decorator(
    cls: type[SandboxedTaskTemplate], config: SandboxedConfig, name: str | None, **settings: Any
) -> Callable[[Callable[..., Any]], Any]:
    def decorate(func: Callable[..., Any]) -> Any:
        return cls(
            func=func,
            name=name or f"{func.__module__}.{func.__name__}",
            interface=NativeInterface.from_callable(func),
            plugin_config=config,
            **settings,
        )

    return decorate


def orchestrator(
    _func: Any = None,
    /,
    *,
    name: str | None = None,
    queue: str | None = None,
    timeout_ms: int = 30_000,
    max_stack_depth: int = 256,
    cache: Any = "disable",
    retries: int = 0,
    tasks: list[Any] | None = None,
    inputs: dict[str, type] | None = None,
    output: Any = type(None),
) -> Any:
    """Turn a function that only calls tasks into a sandboxed orchestrator (bare or with options).

    Given a code string instead of a function (the older form of this API), it returns the task of
    :func:`orchestrator_from_str`.
    """
    if isinstance(_func, str):
        return code_task(
            _func,
            inputs=inputs or {},
            output=output,
            tasks=tasks,
            name=name or "sandboxed-code",
            timeout_ms=timeout_ms,
            cache=cache,
            retries=retries,
            image=None,
            module=_caller_module(),
        )
    config = SandboxedConfig(timeout_ms=timeout_ms, max_stack_depth=max_stack_depth)
    decorate = _decorator(OrchestratorTaskTemplate, config, name, cache=cache, retries=retries, queue=queue)
    return decorate if _func is None else decorate(_func)


def task(
    _func: Any = None,
    /,
    *,
    timeout_ms: int = 30_000,
    max_memory: int = 50 * 1024 * 1024,
    max_stack_depth: int = 256,
    type_check: bool = True,
    name: str | None = None,
    cache: Any = "disable",
    retries: int = 0,
) -> Any:
    """A standalone sandboxed task (bare or with options); prefer ``@env.sandbox.orchestrator``."""
    config = SandboxedConfig(max_memory, max_stack_depth, timeout_ms, type_check)
    decorate = _decorator(SandboxedTaskTemplate, config, name, cache=cache, retries=retries)
    return decorate if _func is None else decorate(_func)


class ImageConfig:
    """Image settings of the reference's container code sandbox (accepted, not used here)."""

    def __init__(self, **settings: Any) -> None:
        self.settings = settings

    def __repr__(self) -> str:
        return f"ImageConfig({', '.join(f'{k}={v!r}' for k, v in self.settings.items())})"


def _no_containers(name: str) -> RuntimeUserError:
    return RuntimeUserError(
        "UnsupportedSandbox",
        f"flyte.sandbox.{name} runs code in a container built on demand, which flyte-engine does not "
        "do; use @env.sandbox.orchestrator or flyte.sandbox.orchestrator_from_str (the Monty "
        "sandbox), or an ordinary task",
    )


def create(*args: Any, **kwargs: Any) -> Any:
    """The reference's container code sandbox: not supported by flyte-engine (raises)."""
    raise _no_containers("create")


def sandbox_environment(*args: Any, **kwargs: Any) -> Any:
    """The environment of the reference's container code sandbox: not supported (raises)."""
    raise _no_containers("sandbox_environment")
