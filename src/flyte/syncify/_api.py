"""``Syncify``: give async functions a blocking call form and an ``.aio`` form, both run on one
background event loop per ``Syncify`` instance.

Running every call on the same loop matters for async clients that bind to the loop they were
created on: create and use them through the same ``Syncify``. The caller's context variables
(for example ``flyte.ctx()`` inside a task) travel with each call onto the background loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import inspect
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import Any, Protocol, TypeVar

from typing_extensions import ParamSpec

P = ParamSpec("P")
R_co = TypeVar("R_co", covariant=True)
T = TypeVar("T")


class SyncFunction(Protocol[P, R_co]):
    """What ``@syncify`` returns for an async function: a blocking call plus ``.aio``."""

    def __call__(self, *args: Any, **kwargs: Any) -> R_co: ...

    def aio(self, *args: Any, **kwargs: Any) -> Awaitable[R_co]: ...


class SyncGenFunction(Protocol[P, R_co]):
    """What ``@syncify`` returns for an async generator: a sync iterator plus ``.aio``."""

    def __call__(self, *args: Any, **kwargs: Any) -> Iterator[R_co]: ...

    def aio(self, *args: Any, **kwargs: Any) -> AsyncIterator[R_co]: ...


async def _in_context(ctx: contextvars.Context, awaitable: Awaitable[T]) -> T:
    # a task created inside ctx.run starts from a copy of the caller's context
    return await ctx.run(asyncio.ensure_future, awaitable)


class _BackgroundLoop:
    """An event loop on a daemon thread, started on first use."""

    def __init__(self, name: str):
        self.name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._thread is None or not self._thread.is_alive():
                loop = asyncio.new_event_loop()
                started = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(started.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=run, name=self.name, daemon=True)
                self._thread.start()
                started.wait()
                self._loop = loop
            return self._loop

    def in_loop(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def submit(self, awaitable: Awaitable[T]) -> concurrent.futures.Future[T]:
        loop = self._ensure()
        return asyncio.run_coroutine_threadsafe(_in_context(contextvars.copy_context(), awaitable), loop)

    def check_not_in_loop(self, fn: Any) -> None:
        if self.in_loop():
            raise RuntimeError(
                f"Blocking call of {getattr(fn, '__qualname__', fn)} from the '{self.name}' loop would "
                "deadlock; use 'await ....aio(...)' there"
            )

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.submit(coro).result()

    async def call_async(self, coro: Coroutine[Any, Any, T]) -> T:
        if self.in_loop():
            return await coro
        return await asyncio.wrap_future(self.submit(coro))

    def iterate(self, agen: AsyncIterator[T]) -> Iterator[T]:
        try:
            while True:
                try:
                    yield self.submit(agen.__anext__()).result()
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(agen, "aclose", None)
            if aclose is not None and not self.in_loop():
                self.submit(aclose()).result()

    async def iterate_async(self, agen: AsyncIterator[T]) -> AsyncIterator[T]:
        if self.in_loop():
            async for item in agen:
                yield item
            return
        try:
            while True:
                try:
                    yield await asyncio.wrap_future(self.submit(agen.__anext__()))
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(agen, "aclose", None)
            if aclose is not None:
                await asyncio.shield(asyncio.wrap_future(self.submit(aclose())))


class _SyncWrapper:
    """The object ``@syncify`` returns: callable (blocking), ``.aio`` (async), and a descriptor."""

    def __init__(self, fn: Callable[..., Any], loop: _BackgroundLoop, underlying: Any = None):
        self.fn = fn
        self._loop = loop
        self._underlying = underlying  # the classmethod object, when wrapping one
        functools.update_wrapper(self, fn)

    def __get__(self, instance: Any, owner: Any = None) -> _SyncWrapper:
        if instance is not None:
            bound = self.fn.__get__(instance, owner)
        elif self._underlying is not None and owner is not None:
            bound = self._underlying.__get__(None, owner)
        else:
            return self
        wrapper = _SyncWrapper(bound, self._loop, self._underlying)
        functools.update_wrapper(wrapper, self.fn)
        return wrapper

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._loop.check_not_in_loop(self.fn)
        result = self.fn(*args, **kwargs)
        if hasattr(result, "__anext__"):
            return self._loop.iterate(result)
        return self._loop.call(result)

    def aio(self, *args: Any, **kwargs: Any) -> Any:
        result = self.fn(*args, **kwargs)
        if hasattr(result, "__anext__"):
            return self._loop.iterate_async(result)
        return self._loop.call_async(result)


class Syncify:
    """A decorator for async functions, async generators, async class- and static methods.

    ``f(...)`` blocks until the coroutine finished on this instance's background loop;
    ``await f.aio(...)`` awaits it (also on that loop). An async generator becomes a sync
    iterator, and its ``.aio`` an async iterator.
    """

    def __init__(self, name: str = "flyte_syncify"):
        self._loop = _BackgroundLoop(name)

    def __call__(self, obj: Any) -> Any:
        if isinstance(obj, classmethod):
            return _SyncWrapper(obj.__func__, self._loop, underlying=obj)
        if isinstance(obj, staticmethod):
            return staticmethod(_SyncWrapper(obj.__func__, self._loop))
        if inspect.iscoroutinefunction(obj) or inspect.isasyncgenfunction(obj):
            return _SyncWrapper(obj, self._loop)
        raise TypeError(
            "syncify takes an async function, async generator, or async classmethod/staticmethod; "
            f"got {obj!r}"
        )
