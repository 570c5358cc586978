"""Blocking calls in async task code that do not block the event loop.

``flyte.map(task, items)`` is a blocking call. Written inside an async task (the reference SDK
deadlocks there), it must not stall the event loop, which every other action of the run shares.
So an async task's coroutine is stepped inside a greenlet (``drive``): its awaits are handed to the
event loop as usual, and a blocking call made anywhere inside it (``wait_blocking``) switches back
to the driver, which awaits on the loop and switches back in with the result. The task's code
sees an ordinary blocking call; the loop keeps serving every other action meanwhile.

A plain call of a sync task (``sync_task(x)``, not ``await sync_task.aio(x)``) is such a blocking
call too: the reference blocks until the child is done, and so do we, through ``wait_blocking``.

A greenlet costs ~10 µs to start, too much for every action of a 10,000-way fan-out, so only
tasks whose code can make such a call are stepped this way (``may_block``: the function's code,
nested functions included, names ``map`` or a sync task of its module or of a module it imports);
in any other task a blocking ``flyte.map`` fails at once with an error that says to use
``flyte.map.aio``.

Invariants: the greenlet shares the driving asyncio task's ``contextvars`` context (so
``flyte.ctx()``, groups and custom context behave as without it); a cancellation of the driving
task is thrown into the coroutine at the await it is suspended in, as asyncio would.
"""

from __future__ import annotations

import types
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any, TypeVar

from greenlet import getcurrent, greenlet

from flyte._task import TaskTemplate

T = TypeVar("T")


_BLOCKING_NAMES = frozenset({"map"})
_may_block: dict[types.CodeType, bool] = {}


def _names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _is_sync_task(value: Any) -> bool:
    return isinstance(value, TaskTemplate) and not value.is_async


def _names_a_sync_task(names: set[str], scope: dict[str, Any]) -> bool:
    """Whether one of ``names`` is a sync task in ``scope``, directly or as an attribute of an
    imported module (``tasks.double(x)``; the module's own namespace only, so that no lazy
    attribute of a package is loaded by asking)."""
    for name in names:
        value = scope.get(name)
        if _is_sync_task(value):
            return True
        if isinstance(value, types.ModuleType):
            members = vars(value)
            if any(_is_sync_task(members.get(other)) for other in names):
                return True
    return False


def may_block(func: Callable[..., Any]) -> bool:
    """Whether ``func``'s code can make a blocking call: it names ``map``, or a sync task of its
    module or of a module it imports (decided at its first run, when modules are fully defined)."""
    code = getattr(func, "__code__", None)
    if code is None:
        return True  # not plain Python: assume it may
    known = _may_block.get(code)
    if known is None:
        names = _names(code)
        scope = getattr(func, "__globals__", {})
        known = bool(names & _BLOCKING_NAMES) or _names_a_sync_task(names, scope)
        _may_block[code] = known
    return known


class NotBridged(RuntimeError):
    """``wait_blocking`` was called outside code stepped by ``drive``."""


class _Stepper(greenlet):  # type: ignore[misc]
    driver: greenlet


class _Reyield:
    """Hands an object the coroutine yielded (a future it awaits) up to the driving asyncio task."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any):
        self.obj = obj

    def __await__(self) -> Generator[Any, Any, Any]:
        return (yield self.obj)


def _step(coro: Coroutine[Any, Any, Any]) -> tuple[str, Any]:
    value: Any = None
    error: BaseException | None = None
    driver = getcurrent().driver
    while True:
        try:
            yielded = coro.send(value) if error is None else coro.throw(error)
        except StopIteration as stop:
            return "done", stop.value
        except BaseException as e:  # noqa: BLE001 (re-raised by the driver, in its own frame)
            return "error", e
        value, error = driver.switch(("yield", yielded))


async def drive(coro: Coroutine[Any, Any, T]) -> T:
    """Await ``coro`` with its steps run in a greenlet, so that it may call ``wait_blocking``."""
    driver = getcurrent()
    stepper = _Stepper(_step, parent=driver)
    stepper.driver = driver
    stepper.gr_context = driver.gr_context
    message = stepper.switch(coro)
    while True:
        kind, payload = message
        if kind == "done":
            return payload  # type: ignore[no-any-return]
        if kind == "error":
            raise payload
        try:
            if kind == "yield":
                value = await _Reyield(payload)
            else:  # "await": a blocking call inside the coroutine waits for this awaitable
                value = await payload
        except BaseException as e:  # noqa: BLE001 (thrown into the coroutine, which decides)
            message = stepper.switch((None, e))
        else:
            message = stepper.switch((value, None))


def wait_blocking(awaitable: Awaitable[T]) -> T:
    """Block the calling code (not the event loop) until ``awaitable`` is done; only inside ``drive``."""
    current = getcurrent()
    if not isinstance(current, _Stepper):
        if hasattr(awaitable, "close"):
            awaitable.close()  # type: ignore[attr-defined]  # never awaited: no warning about it
        raise NotBridged("not called from a coroutine stepped by drive()")
    value, error = current.driver.switch(("await", awaitable))
    if error is not None:
        raise error
    return value  # type: ignore[no-any-return]
