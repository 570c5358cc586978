"""``flyte.map``: call a task over iterables, concurrently, results in input order."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

from flyte._context import Frame, current_frame, set_frame
from flyte._syncify import run_sync
from flyte._task import TaskTemplate
from flyte.models import GroupData

LOOKAHEAD = 1024
"""How many items may be scheduled ahead of the one being yielded; bounds memory on huge maps."""


def _resolve(func: Any) -> tuple[TaskTemplate | Callable[..., Any], tuple[Any, ...], dict[str, Any]]:
    if isinstance(func, functools.partial):
        inner, args, kwargs = _resolve(func.func)
        return inner, (*args, *func.args), {**kwargs, **func.keywords}
    if not callable(func):
        raise TypeError(f"flyte.map: expected a task or a functools.partial of one, got {func!r}")
    return func, (), {}


def _check_concurrency(concurrency: int) -> int:
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 0:
        raise ValueError(f"flyte.map: concurrency must be an int >= 0 (0 = unbounded), got {concurrency!r}")
    return concurrency


async def _call(target: Any, fixed: tuple[Any, ...], kw: dict[str, Any], item: tuple[Any, ...]) -> Any:
    if isinstance(target, TaskTemplate):
        return await target.aio(*fixed, *item, **kw)
    result = target(*fixed, *item, **kw)
    return await result if asyncio.iscoroutine(result) else result


async def _map_aio(
    func: Any,
    *iterables: Iterable[Any],
    group_name: str | None = None,
    concurrency: int = 0,
    return_exceptions: bool = True,
) -> AsyncIterator[Any]:
    target, fixed, kw = _resolve(func)
    concurrency = _check_concurrency(concurrency)
    frame = current_frame()
    context = contextvars.copy_context()
    if frame is not None:
        name = group_name or getattr(target, "short_name", None) or getattr(target, "__name__", "map")
        grouped: Frame = frame.with_tctx(group_data=GroupData(str(name)))
        context.run(set_frame, grouped)
    semaphore = asyncio.Semaphore(concurrency) if concurrency else None

    async def one(item: tuple[Any, ...]) -> Any:
        if semaphore is None:
            return await _call(target, fixed, kw, item)
        async with semaphore:
            return await _call(target, fixed, kw, item)

    loop = asyncio.get_running_loop()
    items = zip(*iterables, strict=False)
    pending: deque[asyncio.Task[Any]] = deque()

    def schedule() -> None:
        for item in items:
            pending.append(context.run(loop.create_task, one(item)))
            if len(pending) >= LOOKAHEAD:
                return

    schedule()
    try:
        while pending:
            head = pending.popleft()
            try:
                value = await head
            except Exception as e:
                if not return_exceptions:
                    raise
                value = e
            if len(pending) < LOOKAHEAD // 2:
                schedule()
            yield value
    finally:
        for t in pending:  # a consumer that stops early or a failure: no orphans
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


class _Map:
    """``flyte.map(task, xs)`` iterates results in sync code; ``flyte.map.aio(...)`` is an async generator."""

    def __call__(
        self,
        func: Any,
        *iterables: Iterable[Any],
        group_name: str | None = None,
        concurrency: int = 0,
        return_exceptions: bool = True,
    ) -> Iterator[Any]:
        """Call ``func`` once per item (zip of ``iterables``), at most ``concurrency`` at a time
        (0: no bound), and yield results in input order. A failed item yields its exception when
        ``return_exceptions`` is true, otherwise it is raised and the remaining items are cancelled.
        """
        _check_concurrency(concurrency)
        frame = current_frame()

        async def collect() -> list[Any]:
            return [
                r
                async for r in _map_aio(
                    func,
                    *iterables,
                    group_name=group_name,
                    concurrency=concurrency,
                    return_exceptions=return_exceptions,
                )
            ]

        if frame is None:
            return iter(run_sync(collect()))
        if asyncio._get_running_loop() is not None:  # called by an async task: it may block, the loop not
            from flyte._internal.runtime.bridge import NotBridged, wait_blocking

            try:
                return iter(wait_blocking(collect()))
            except NotBridged:
                raise RuntimeError(
                    "flyte.map(...) was called from async code outside a task body, where it would "
                    "block the event loop; use 'async for result in flyte.map.aio(...)'"
                ) from None
        return iter(frame.controller.run_blocking(_with_frame(frame, collect)))

    @staticmethod
    def aio(
        func: Any,
        *iterables: Iterable[Any],
        group_name: str | None = None,
        concurrency: int = 0,
        return_exceptions: bool = True,
    ) -> AsyncIterator[Any]:
        return _map_aio(
            func,
            *iterables,
            group_name=group_name,
            concurrency=concurrency,
            return_exceptions=return_exceptions,
        )


async def _with_frame(frame: Frame, make: Callable[[], Any]) -> Any:
    """Run a coroutine on the controller's loop with the calling sync task's frame in effect."""
    set_frame(frame)  # this coroutine runs as its own asyncio task: the change stays inside it
    return await make()


map = _Map()
