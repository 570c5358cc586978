"""Task templates whose body runs in the Monty sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flyte.extend import AsyncFunctionTaskTemplate

from ._config import SandboxedConfig
from ._monty import run_in_sandbox
from ._source import function_source, referenced_callables


@dataclass(kw_only=True, eq=False)
class SandboxedTaskTemplate(AsyncFunctionTaskTemplate):
    """A task whose function body is interpreted by Monty instead of Python.

    The body may call the tasks (and ``@flyte.trace`` / ``flyte.durable`` functions) it names,
    without ``await``: each call suspends the sandbox, runs as a child action, and resumes it with
    the result. Outside a run, calling the task calls the plain function.
    """

    task_type: str = "sandboxed-python"
    plugin_config: SandboxedConfig = field(default_factory=SandboxedConfig)
    _source_code: str = field(default="", init=False, repr=False)
    _input_names: list[str] = field(default_factory=list, init=False, repr=False)
    _functions: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.plugin_config is None:
            self.plugin_config = SandboxedConfig()
        self._prepare()
        # The body runs in a Monty worker subprocess and every call it makes is awaited here, so
        # an attempt never blocks the event loop: run it there whatever the function's own kind.
        self.is_async = True

    def _prepare(self) -> None:
        self._source_code, self._input_names = function_source(self.func)
        self._functions = referenced_callables(self.func)

    def _inputs(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        values = dict(zip(self._input_names, args, strict=False))
        values.update((k, v) for k, v in kwargs.items() if k in self._input_names)
        return values

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        return await run_in_sandbox(
            self._source_code,
            self._inputs(args, kwargs),
            self._functions,
            self.plugin_config,
            f"Task '{self.name}'",
        )

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)


@dataclass(kw_only=True, eq=False)
class OrchestratorTaskTemplate(SandboxedTaskTemplate):
    """``@flyte.sandbox.orchestrator``: a sandboxed function that only calls tasks."""

    task_type: str = "sandbox-orchestrator"
    task_type_version: int = 1

    def _prepare(self) -> None:
        super()._prepare()
        from flyte._task import TaskTemplate

        others = sorted(n for n, f in self._functions.items() if not isinstance(f, TaskTemplate))
        if others:
            from flyte.errors import RuntimeUserError

            raise RuntimeUserError(
                "BadConfig",
                f"flyte.sandbox.orchestrator '{self.name}' may only call tasks, but "
                f"{', '.join(others)} {'is' if len(others) == 1 else 'are'} not; use "
                "env.sandbox.orchestrator for orchestrators that call traces or durable operations",
            )


@dataclass(kw_only=True, eq=False)
class CodeTaskTemplate(SandboxedTaskTemplate):
    """A sandboxed task made from a code string; the value of its last expression is the output."""

    _user_source: str = ""
    _user_input_names: list[str] = field(default_factory=list)
    _user_functions: dict[str, Any] = field(default_factory=dict)

    def _prepare(self) -> None:
        self._source_code = self._user_source
        self._input_names = list(self._user_input_names)
        self._functions = dict(self._user_functions)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        import asyncio

        return asyncio.run(self.execute(*args, **kwargs))
