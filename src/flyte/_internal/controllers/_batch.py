"""Coalescing of requests made in the same event-loop step into one batched request.

A parent that gathers a thousand children submits them all in one step of the event loop (every
child's task runs up to its first ``await``), and their outcomes arrive together. Sending one
HTTP request per item costs the worker and the server far more than the items themselves, so
the callers of :meth:`Coalescer.submit` queue their item and wait; once the step is over (the
flush is scheduled with ``call_soon``, which runs after every callback already ready), the queued
items leave as one request per ``max_batch`` items. With ``max_inflight``, no more than that many
requests are out at once: items submitted meanwhile wait for one to be answered and leave
together (items that trickle in one per step, such as the outcomes of Ray tasks, are batched
too). Each caller gets its own result, or its own
exception, as if it had sent the request alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Coalescer(Generic[Item, Result]):
    """Batches the items submitted during one event-loop step and sends them with ``send``.

    ``send(items)`` returns one result per item, in order; a result that is an ``Exception`` is
    raised to that item's caller. If ``send`` itself raises, every caller of the batch gets it.
    """

    def __init__(
        self,
        send: Callable[[list[Item]], Awaitable[Sequence[Result | Exception]]],
        max_batch: int,
        max_inflight: int | None = None,
    ):
        self._send = send
        self._max = max(1, max_batch)
        self._max_inflight = None if max_inflight is None else max(1, max_inflight)
        self._queued: list[tuple[Item, asyncio.Future[Result]]] = []
        self._scheduled = False
        self._inflight: set[asyncio.Task[None]] = set()
        self.requests = 0
        """Batched requests sent so far (for tests and benchmarks)."""

    async def submit(self, item: Item) -> Result:
        """``item``'s result, once the batch it joined is answered."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._queued.append((item, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        # a cancelled caller stops waiting; its item may still be sent (as with a single request)
        return await future

    def _flush(self) -> None:
        self._scheduled = False
        while self._queued and (self._max_inflight is None or len(self._inflight) < self._max_inflight):
            batch, self._queued = self._queued[: self._max], self._queued[self._max :]
            task = asyncio.ensure_future(self._deliver(batch))
            self._inflight.add(task)
            task.add_done_callback(self._answered)

    def _answered(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        if self._queued and not self._scheduled:  # items held back by max_inflight
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    async def _deliver(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        self.requests += 1
        try:
            results = await self._send([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"a batch of {len(batch)} items got {len(results)} answers")
        except Exception as e:
            for _, future in batch:
                if not future.done():
                    future.set_exception(e)
            return
        except BaseException:  # cancelled (the loop is closing): so are the callers
            for _, future in batch:
                future.cancel()
            raise
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def drain(self) -> None:
        """Wait until every item submitted so far has been answered."""
        while self._scheduled or self._inflight:
            if self._inflight:
                await asyncio.gather(*self._inflight, return_exceptions=True)
            else:
                await asyncio.sleep(0)
