"""Running a piece of source in the Monty sandbox, with the host answering its external calls.

Monty (``pydantic-monty``) interprets the code in a worker subprocess; every call the code makes
to a name we provide (a task, a plain function, ``flyte_map``) suspends it, we run the call here
(a task call becomes a child action of the running action) and resume the code with the result.
Values that Monty cannot hold (``File``, ``Dir``, ``DataFrame``, any other object) cross as opaque
handles: the code can pass them on, not look inside.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from flyte._task import TaskTemplate
from flyte.errors import RuntimeUserError

from ._config import SandboxedConfig

EXTRA_HINT = "pip install 'flyte-engine[sandbox]'"
_HANDLE_KEY = "__flyte_io_type__"
_PLAIN = (int, float, str, bool, bytes, type(None))


class SandboxNotInstalledError(RuntimeUserError, ImportError):
    """The sandbox was used but ``pydantic-monty`` (the ``sandbox`` extra) is not installed."""

    def __init__(self, message: str):
        super().__init__("SandboxNotInstalled", message)


class SandboxError(RuntimeUserError):
    """The sandboxed code failed: a syntax error, an exception it raised, or a limit it hit."""

    def __init__(self, message: str, code: str = "SandboxError"):
        super().__init__(code, message)


def load_monty() -> Any:
    """The ``pydantic_monty`` module, or :class:`SandboxNotInstalledError` naming the extra."""
    try:
        import pydantic_monty  # optional dependency
    except ImportError:
        raise SandboxNotInstalledError(
            f"flyte.sandbox needs the Monty sandbox, which is not installed: {EXTRA_HINT}"
        ) from None
    return pydantic_monty


class _Handles:
    """Objects Monty cannot hold, swapped for tagged dicts on the way in and back on the way out."""

    def __init__(self) -> None:
        self._objects: list[Any] = []

    def inward(self, value: Any) -> Any:
        if isinstance(value, _PLAIN):
            return value
        if isinstance(value, list):
            return [self.inward(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.inward(v) for v in value)
        if isinstance(value, dict):
            return {k: self.inward(v) for k, v in value.items()}
        self._objects.append(value)
        return {_HANDLE_KEY: type(value).__name__, "id": len(self._objects) - 1}

    def outward(self, value: Any) -> Any:
        if isinstance(value, dict):
            if _HANDLE_KEY in value and isinstance(value.get("id"), int):
                return self._objects[value["id"]]
            return {k: self.outward(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.outward(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.outward(v) for v in value)
        return value


def _as_async(name: str, target: Any, handles: _Handles, failures: list[BaseException]) -> Callable[..., Any]:
    async def call(*args: Any, **kwargs: Any) -> Any:
        args = handles.outward(args)
        kwargs = handles.outward(kwargs)
        try:
            if isinstance(target, TaskTemplate):
                result = await target.aio(*args, **kwargs)
            else:
                result = target(*args, **kwargs)
                while inspect.isawaitable(result):
                    result = await result
        except BaseException as e:
            failures.append(e)  # re-raised as itself once Monty reports it
            raise
        return handles.inward(result)

    call.__name__ = name
    return call


def _flyte_map(
    functions: dict[str, Any], handles: _Handles, failures: list[BaseException]
) -> Callable[..., Any]:
    async def flyte_map(
        task_name: str,
        *iterables: Any,
        concurrency: int = 0,
        group_name: str | None = None,
        return_exceptions: bool = True,
    ) -> list[Any]:
        import flyte  # flyte.map, resolved lazily by flyte's own __getattr__

        target = functions.get(task_name)
        if target is None:
            raise NameError(f"flyte_map: no task named {task_name!r} was given to the sandbox")
        try:
            results = [
                r
                async for r in flyte.map.aio(
                    target,
                    *handles.outward(iterables),
                    concurrency=concurrency,
                    group_name=group_name,
                    return_exceptions=return_exceptions,
                )
            ]
        except BaseException as e:
            failures.append(e)
            raise
        for r in results:
            if isinstance(r, BaseException):
                failures.append(r)
                raise r
        return handles.inward(results)

    return flyte_map


async def run_in_sandbox(
    source: str,
    inputs: dict[str, Any],
    functions: dict[str, Any],
    config: SandboxedConfig,
    what: str,
) -> Any:
    """Run ``source`` with ``inputs`` as variables; the value of its last expression is returned.

    ``functions`` are the names the code may call. ``what`` names the task in error messages.
    """
    pm = load_monty()
    handles = _Handles()
    failures: list[BaseException] = []
    externals = {name: _as_async(name, f, handles, failures) for name, f in functions.items()}
    externals.setdefault("flyte_map", _flyte_map(functions, handles, failures))
    limits = {
        "max_feed_duration_secs": config.timeout_ms / 1000,
        "max_total_sleep_secs": config.timeout_ms / 1000,
        "max_memory": config.max_memory,
        "max_recursion_depth": config.max_stack_depth,
        "max_suspensions": 1_000_000,
    }
    try:
        async with pm.AsyncMonty() as pool, pool.checkout(limits=limits) as session:
            snap = await session.feed_start(source, inputs=handles.inward(inputs), external_lookup=externals)
            while not isinstance(snap, pm.MontyComplete):
                fn = externals.get(getattr(snap, "function_name", None) or "")
                if fn is None or getattr(snap, "allow_eager_await", True):
                    snap = await snap.resume_auto()  # awaited in place, or a name Monty resolves
                else:  # a call the code does not await: answer it with the value itself
                    snap = await snap.resume({"return_value": await fn(*snap.args, **snap.kwargs)})
            return handles.outward(snap.output)
    except pm.MontyError as e:
        if failures:
            raise failures[-1] from None  # a task the code called failed: that is the error
        kind = "SandboxSyntaxError" if isinstance(e, pm.MontySyntaxError) else "SandboxError"
        raise SandboxError(f"{what}: the sandboxed code failed: {e}", kind) from None
