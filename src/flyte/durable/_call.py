"""A durable call: one blocking form and one ``.aio`` form over the same recorded value."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

from typing_extensions import ParamSpec

P = ParamSpec("P")
T = TypeVar("T")


class DurableCall(Generic[P, T]):
    """``fn(...)`` blocks; ``await fn.aio(...)`` awaits. Both record and replay the same trace.

    Unlike :class:`flyte.syncify.Syncify`, the blocking form runs on the caller's thread, so it
    sees the calling task's context (``flyte.ctx()``) and records into that task's action.
    """

    def __init__(self, sync_fn: Callable[P, T], async_fn: Callable[P, Coroutine[Any, Any, T]]):
        self._sync = sync_fn
        self._async = async_fn
        functools.update_wrapper(self, async_fn)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._sync(*args, **kwargs)

    def aio(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, T]:
        return self._async(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<durable {getattr(self, '__qualname__', type(self).__name__)}>"
