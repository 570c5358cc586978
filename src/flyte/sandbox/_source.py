"""Turning a decorated function, or a code string, into source for Monty."""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable
from typing import Any

import flyte._trace
from flyte._task import TaskTemplate


def _is_trace(obj: Any) -> bool:
    """A ``@flyte.trace`` function (its wrapper is code of flyte._trace), or a syncified one."""
    code = getattr(obj, "__code__", None)
    return (code is not None and code.co_filename == flyte._trace.__file__) or (
        callable(obj) and hasattr(obj, "__wrapped__") and hasattr(obj, "aio")
    )


def _is_durable(obj: Any) -> bool:
    return callable(obj) and (getattr(obj, "__module__", None) or "").startswith("flyte.durable")


def function_source(func: Callable[..., Any]) -> tuple[str, list[str]]:
    """The function's definition without its decorators, followed by a call of it with its
    parameters (awaited for ``async def``), and the parameter names."""
    name = getattr(func, "__qualname__", repr(func))
    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        raise TypeError(f"Sandboxed task '{name}' cannot be a generator")
    try:
        lines = textwrap.dedent(inspect.getsource(func)).splitlines()
    except (OSError, TypeError) as e:
        raise TypeError(f"Sandboxed task '{name}': its source code is not available ({e})") from e
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith(("def ", "async def ")))
    params = [
        p.name
        for p in inspect.signature(func).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    call = f"{func.__name__}({', '.join(params)})"
    if inspect.iscoroutinefunction(func):
        call = f"await {call}"
    return "\n".join(lines[start:]).rstrip() + "\n" + call, params


def code_source(source: str) -> str:
    """A code string ready for Monty, whose last expression is the result (``None`` if empty)."""
    return textwrap.dedent(source).strip() or "None"


def referenced_callables(func: Callable[..., Any]) -> dict[str, Any]:
    """What the function's code may call on the host: the tasks, ``@flyte.trace`` functions and
    ``flyte.durable`` operations it names from its globals or closure. Any other function it names
    is not handed over: it would run outside the sandbox."""
    code = func.__code__
    names: set[str] = set()
    stack = [code]
    while stack:
        c = stack.pop()
        names |= set(c.co_names) | set(c.co_freevars)
        stack.extend(k for k in c.co_consts if inspect.iscode(k))
    scope = dict(getattr(func, "__globals__", {}))
    for var, cell in zip(code.co_freevars, func.__closure__ or (), strict=False):
        try:
            scope[var] = cell.cell_contents
        except ValueError:  # an empty cell
            pass
    found = {}
    for name in names:
        obj = scope.get(name)
        if isinstance(obj, TaskTemplate) or _is_trace(obj) or _is_durable(obj):
            found[name] = obj
    return found
