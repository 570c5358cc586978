"""One async implementation, one sync facade: ``fn(...)`` blocks, ``fn.aio(...)`` is awaitable."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Coroutine
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
