"""Batch work from many concurrent producers through one async function.

``DynamicBatcher`` collects submitted records into batches bounded by an estimated cost
budget, a record count and a wait time, and runs each batch through ``process_fn`` while the
next one is being assembled. Every ``submit`` returns a future for that record's result.
``TokenBatcher`` is the same with token-flavoured parameter names for LLM inference.

Two loops share the work, joined by a small bounded queue of ready batches:

- the *collector* takes submissions and closes a batch when the budget, the size cap or the
  wait time is reached (never before ``min_batch_size`` records, except when stopping);
- the *runner* calls ``process_fn`` on one batch at a time and resolves the futures.

``stop()`` lets both loops finish everything already submitted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

logger = logging.getLogger("flyte.extras")

RecordT = TypeVar("RecordT")
ResultT = TypeVar("ResultT")

ProcessFn = Callable[[list[RecordT]], Awaitable[list[ResultT]]]
"""``async def f(batch) -> results``, one result per record, in the batch's order."""
InferenceFn = ProcessFn
CostEstimatorFn = Callable[[RecordT], int]
"""``(record) -> int``: the estimated cost of one record."""
TokenEstimatorFn = CostEstimatorFn


@runtime_checkable
class CostEstimator(Protocol):
    """A record that knows its own cost: ``estimate_cost()`` is used when no cost is given."""

    def estimate_cost(self) -> int: ...


@runtime_checkable
class TokenEstimator(Protocol):
    """A record that knows its own token count (used by ``TokenBatcher``)."""

    def estimate_tokens(self) -> int: ...


@dataclass
class BatchStats:
    """Counters of a batcher, updated as batches complete (``DynamicBatcher.stats``)."""

    total_submitted: int = 0
    total_completed: int = 0
    total_batches: int = 0
    total_batch_cost: int = 0
    avg_batch_size: float = 0.0
    avg_batch_cost: float = 0.0
    busy_time_s: float = 0.0
    """Seconds spent inside ``process_fn``."""
    idle_time_s: float = 0.0
    """Seconds the runner waited for the next batch."""

    @property
    def utilization(self) -> float:
        """Share of the runner's time spent processing, between 0 and 1."""
        total = self.busy_time_s + self.idle_time_s
        return self.busy_time_s / total if total > 0 else 0.0


@dataclass
class _Pending(Generic[RecordT, ResultT]):
    record: RecordT
    cost: int
    future: asyncio.Future[ResultT]


_STOP: Any = object()
"""Queue sentinel: no more submissions."""


class DynamicBatcher(Generic[RecordT, ResultT]):
    """Run records from many producers through ``process_fn`` in cost-bounded batches.

    Use it as ``async with DynamicBatcher(process_fn=f) as b: result = await (await b.submit(x))``.
    ``submit`` waits when ``max_queue_size`` records are already queued (backpressure).
    """

    def __init__(
        self,
        process_fn: ProcessFn[RecordT, ResultT],
        *,
        cost_estimator: CostEstimatorFn[RecordT] | None = None,
        target_batch_cost: int = 32_000,
        max_batch_size: int = 256,
        min_batch_size: int = 1,
        batch_timeout_s: float = 0.05,
        max_queue_size: int = 5_000,
        prefetch_batches: int = 2,
        default_cost: int = 1,
    ):
        if max_batch_size < 1 or min_batch_size < 1 or min_batch_size > max_batch_size:
            raise ValueError(
                f"{type(self).__name__}: need 1 <= min_batch_size <= max_batch_size, "
                f"got min_batch_size={min_batch_size}, max_batch_size={max_batch_size}"
            )
        self._process_fn = process_fn
        self._cost_estimator = cost_estimator
        self._target_batch_cost = target_batch_cost
        self._max_batch_size = max_batch_size
        self._min_batch_size = min_batch_size
        self._batch_timeout_s = batch_timeout_s
        self._max_queue_size = max_queue_size
        self._prefetch_batches = prefetch_batches
        self._default_cost = default_cost
        self._stats = BatchStats()
        self._loops: list[asyncio.Task[None]] = []
        self._submissions: asyncio.Queue[Any] | None = None
        self._ready: asyncio.Queue[Any] | None = None

    @property
    def stats(self) -> BatchStats:
        return self._stats

    @property
    def is_running(self) -> bool:
        return bool(self._loops)

    async def start(self) -> None:
        """Start collecting and processing; raises RuntimeError when already started."""
        if self._loops:
            raise RuntimeError(f"{type(self).__name__} is already running")
        self._submissions = asyncio.Queue(maxsize=self._max_queue_size)
        self._ready = asyncio.Queue(maxsize=max(1, self._prefetch_batches))
        self._loops = [
            asyncio.create_task(self._collect(), name="batcher-collect"),
            asyncio.create_task(self._run(), name="batcher-run"),
        ]

    async def stop(self) -> None:
        """Process everything already submitted, then stop both loops."""
        if not self._loops:
            return
        assert self._submissions is not None
        await self._submissions.put(_STOP)
        try:
            await asyncio.gather(*self._loops)
        finally:
            self._loops = []

    async def submit(self, record: RecordT, *, estimated_cost: int | None = None) -> asyncio.Future[ResultT]:
        """Queue ``record``; the returned future resolves to its result (or its batch's error)."""
        if not self._loops or self._submissions is None:
            raise RuntimeError(
                f"{type(self).__name__} is not running: use 'async with' or call start() first"
            )
        future: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        pending = _Pending(record, self._estimate_cost(record, estimated_cost), future)
        await self._submissions.put(pending)
        self._stats.total_submitted += 1
        return pending.future

    async def submit_batch(
        self, records: Sequence[RecordT], *, estimated_cost: Sequence[int] | None = None
    ) -> list[asyncio.Future[ResultT]]:
        """``submit`` each record (with its cost from ``estimated_cost`` when given)."""
        if estimated_cost is not None and len(estimated_cost) != len(records):
            raise ValueError(f"estimated_cost has {len(estimated_cost)} entries for {len(records)} records")
        return [
            await self.submit(r, estimated_cost=None if estimated_cost is None else estimated_cost[i])
            for i, r in enumerate(records)
        ]

    async def __aenter__(self) -> DynamicBatcher[RecordT, ResultT]:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _estimate_cost(self, record: RecordT, override: int | None) -> int:
        if override is not None:
            return override
        if self._cost_estimator is not None:
            return self._cost_estimator(record)
        if isinstance(record, CostEstimator):
            return record.estimate_cost()
        return self._default_cost

    async def _collect(self) -> None:
        assert self._submissions is not None and self._ready is not None
        stopping = False
        while not stopping:
            first = await self._submissions.get()
            if first is _STOP:
                break
            batch: list[_Pending[RecordT, ResultT]] = [first]
            cost = first.cost
            deadline = time.monotonic() + self._batch_timeout_s
            while cost < self._target_batch_cost and len(batch) < self._max_batch_size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    if len(batch) >= self._min_batch_size:
                        break
                    remaining = self._batch_timeout_s  # too small to send: keep waiting for more
                    deadline = time.monotonic() + remaining
                try:
                    item = await asyncio.wait_for(self._submissions.get(), remaining)
                except asyncio.TimeoutError:
                    continue
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
                cost += item.cost
            await self._ready.put(batch)
        await self._ready.put(_STOP)

    async def _run(self) -> None:
        assert self._ready is not None
        stats = self._stats
        while True:
            waited = time.monotonic()
            batch = await self._ready.get()
            started = time.monotonic()
            stats.idle_time_s += started - waited
            if batch is _STOP:
                return
            try:
                results = await self._process_fn([p.record for p in batch])
                if len(results) != len(batch):
                    raise ValueError(
                        f"process_fn returned {len(results)} results for a batch of {len(batch)} records"
                    )
            except Exception as e:  # the batch's callers see the error; the batcher keeps going
                logger.warning("%s: a batch of %d records failed: %s", type(self).__name__, len(batch), e)
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(e)
            else:
                for p, result in zip(batch, results, strict=True):
                    if not p.future.done():
                        p.future.set_result(result)
            stats.busy_time_s += time.monotonic() - started
            stats.total_batches += 1
            stats.total_completed += len(batch)
            stats.total_batch_cost += sum(p.cost for p in batch)
            stats.avg_batch_size = stats.total_completed / stats.total_batches
            stats.avg_batch_cost = stats.total_batch_cost / stats.total_batches


@dataclass
class Prompt:
    """A text prompt that estimates its tokens as about one per four characters."""

    text: str

    def estimate_tokens(self) -> int:
        return len(self.text) // 4 + 1


class TokenBatcher(DynamicBatcher[RecordT, ResultT]):
    """``DynamicBatcher`` for LLM inference: costs are token counts.

    Records implementing ``TokenEstimator`` (such as ``Prompt``) are costed by
    ``estimate_tokens()``; ``inference_fn`` / ``target_batch_tokens`` / ``token_estimator`` /
    ``default_token_estimate`` name the same settings as the base class's cost parameters.
    """

    def __init__(
        self,
        inference_fn: ProcessFn[RecordT, ResultT] | None = None,
        *,
        process_fn: ProcessFn[RecordT, ResultT] | None = None,
        token_estimator: CostEstimatorFn[RecordT] | None = None,
        cost_estimator: CostEstimatorFn[RecordT] | None = None,
        target_batch_tokens: int | None = None,
        target_batch_cost: int = 32_000,
        default_token_estimate: int | None = None,
        default_cost: int = 1,
        max_batch_size: int = 256,
        min_batch_size: int = 1,
        batch_timeout_s: float = 0.05,
        max_queue_size: int = 5_000,
        prefetch_batches: int = 2,
    ):
        fn = inference_fn or process_fn
        if fn is None:
            raise TypeError("TokenBatcher needs an inference function: pass inference_fn= (or process_fn=)")
        super().__init__(
            fn,
            cost_estimator=token_estimator or cost_estimator,
            target_batch_cost=target_batch_cost if target_batch_tokens is None else target_batch_tokens,
            max_batch_size=max_batch_size,
            min_batch_size=min_batch_size,
            batch_timeout_s=batch_timeout_s,
            max_queue_size=max_queue_size,
            prefetch_batches=prefetch_batches,
            default_cost=default_cost if default_token_estimate is None else default_token_estimate,
        )

    def _estimate_cost(self, record: RecordT, override: int | None) -> int:
        if override is None and self._cost_estimator is None and isinstance(record, TokenEstimator):
            return record.estimate_tokens()
        return super()._estimate_cost(record, override)

    async def submit(
        self, record: RecordT, *, estimated_tokens: int | None = None, estimated_cost: int | None = None
    ) -> asyncio.Future[ResultT]:
        """Queue ``record`` with an optional token count (``estimated_cost`` is the same thing)."""
        cost = estimated_cost if estimated_tokens is None else estimated_tokens
        return await super().submit(record, estimated_cost=cost)
