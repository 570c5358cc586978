"""One async implementation, one sync facade: ``fn(...)`` blocks, ``fn.aio(...)`` is awaitable."""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, Generic, TypeVar

from typing_extensions import ParamSpec

P = ParamSpec("P")
T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even when this thread already runs a loop."""
    if asyncio._get_running_loop() is None:
        return asyncio.run(coro)
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as e:
            result["error"] = e

    thread = threading.Thread(target=target, name="flyte-sync-bridge")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


class syncify(Generic[P, T]):
    """Wrap an async function (or method) so that calling it blocks and ``.aio`` awaits."""

    def __init__(self, fn: Callable[P, Coroutine[Any, Any, T]]):
        self.aio = fn
        functools.update_wrapper(self, fn)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        return run_sync(self.aio(*args, **kwargs))

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return syncify(functools.partial(self.aio, obj))


class syncify_classmethod:
    """``syncify`` for a classmethod with an async body: ``Cls.get(...)`` blocks,
    ``await Cls.get.aio(...)`` awaits."""

    def __init__(self, fn: Callable[..., Coroutine[Any, Any, Any]]):
        self.fn = fn
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]  # a descriptor, not a callable

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        return syncify(functools.partial(self.fn, owner if owner is not None else type(obj)))


class blocking_classmethod:
    """A classmethod with a blocking body (it reads the run store or calls the control plane) and
    the ``.aio`` twin the reference's syncified classmethods have: ``Run.get(name)`` blocks, and
    ``await Run.get.aio(name)`` runs the same body on a worker thread. For a body that yields
    (``listall``), ``.aio(...)`` is an async iterator: ``async for run in Run.listall.aio()``."""

    def __init__(self, fn: Callable[..., Any]):
        self.fn = fn
        self.iterates = inspect.isgeneratorfunction(fn)
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]  # a descriptor, not a callable

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        return _BlockingCall(functools.partial(self.fn, owner if owner is not None else type(obj)), self)


class _BlockingCall:
    """A :class:`blocking_classmethod` bound to its class."""

    def __init__(self, call: Callable[..., Any], method: blocking_classmethod):
        self._call = call
        self._iterates = method.iterates
        functools.update_wrapper(self, method.fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(*args, **kwargs)

    def aio(self, *args: Any, **kwargs: Any) -> Any:
        if self._iterates:
            return _iterate_on_thread(self._call(*args, **kwargs))
        return asyncio.to_thread(self._call, *args, **kwargs)


async def _iterate_on_thread(items: Iterator[Any]) -> AsyncIterator[Any]:
    """Each step of a blocking iterator on a worker thread, so the event loop stays free."""
    end = object()
    while (item := await asyncio.to_thread(next, items, end)) is not end:
        yield item
