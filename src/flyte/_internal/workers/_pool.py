"""WorkerPool: the worker processes of one pool key, started lazily, reused, reaped when idle.

``max_workers`` bounds the workers doing work. A worker whose action is waiting on a child task
is *parked*: it does not count, so that a chain of nested isolated tasks can never deadlock on
the bound (the child may need a worker of the same pool). ``min_workers`` are kept warm until
the whole pool has been idle for ``idle_ttl``; workers above it go after ``scaledown_ttl`` idle.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Hashable

from flyte._internal.workers._process import WorkerProcess

REAP_MIN_DELAY = 0.05


class WorkerPool:
    """Workers sharing one pool key; used from a single event loop."""

    def __init__(
        self,
        key: Hashable,
        make_worker: Callable[[WorkerPool], WorkerProcess],
        *,
        min_workers: int,
        max_workers: int,
        scaledown_ttl: float,
        idle_ttl: float,
    ):
        self.key = key
        self.min_workers = min_workers
        self.max_workers = max(1, max_workers)
        self.scaledown_ttl = scaledown_ttl
        self.idle_ttl = idle_ttl
        self._make = make_worker
        self.loop = asyncio.get_running_loop()
        self.workers: set[WorkerProcess] = set()
        """Every worker not yet reaped, dying ones included."""
        self.idle: list[WorkerProcess] = []
        self.parked = 0
        self.last_used = self.loop.time()
        self.closed = False
        self._waiters: collections.deque[asyncio.Future[WorkerProcess | None]] = collections.deque()
        self._reaper: asyncio.TimerHandle | None = None

    def _alive(self) -> int:
        return sum(1 for w in self.workers if not w.dying)

    def _working(self) -> int:
        return self._alive() - self.parked

    async def acquire(self) -> WorkerProcess:
        """An idle ready worker, a newly started one if there is room, or the next one released."""
        while True:
            if self.closed:
                raise RuntimeError("The process executor is closed")
            while self.idle:
                worker = self.idle.pop()  # the most recently used: warmest caches
                if not worker.dying:
                    return worker
            if self._working() < self.max_workers:
                return await self._start()
            waiter: asyncio.Future[WorkerProcess | None] = self.loop.create_future()
            self._waiters.append(waiter)
            try:
                handed = await waiter
            except asyncio.CancelledError:
                given = waiter.result() if waiter.done() and not waiter.cancelled() else None
                if given is not None:
                    self.release(given)  # handed over just as the caller gave up
                raise
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            if handed is not None:
                return handed

    async def _start(self) -> WorkerProcess:
        worker = self._make(self)
        self.workers.add(worker)
        try:
            await worker.start()
        except BaseException:
            if worker.proc is None:  # never launched: nothing will report its exit
                self.workers.discard(worker)
                self._wake()
            raise
        return worker

    def release(self, worker: WorkerProcess) -> None:
        """A worker's action is over: hand the worker to a waiter, keep it idle, or let it go."""
        now = self.loop.time()
        self.last_used = now
        if worker.dying or worker.exited.done():
            return  # worker_exited() will account for it
        if worker.retire_after_call or self.closed:
            worker.retire()
            self._wake()
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        if self._working() > self.max_workers:  # parked actions resumed: shed the surplus
            worker.retire()
            return
        worker.idle_since = now
        self.idle.append(worker)
        self._schedule_reap(min(self.scaledown_ttl, self.idle_ttl))

    # -- reports from workers ------------------------------------------------------------------------------

    def park(self) -> None:
        self.parked += 1
        self._wake()

    def unpark(self) -> None:
        self.parked -= 1

    def worker_exited(self, worker: WorkerProcess) -> None:
        self.workers.discard(worker)
        if worker in self.idle:
            self.idle.remove(worker)
        self._wake()

    def _wake(self) -> None:
        """Let waiters retry, as many as there is room to start workers for."""
        room = self.max_workers - self._working()
        while room > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                room -= 1

    # -- idle workers ----------------------------------------------------------------------------------------

    def _schedule_reap(self, delay: float) -> None:
        if self._reaper is None and not self.closed:
            self._reaper = self.loop.call_later(max(delay, REAP_MIN_DELAY), self._reap)

    def _reap(self) -> None:
        self._reaper = None
        now = self.loop.time()
        if not self.idle:
            return
        keep = self._alive()
        if len(self.idle) == keep and now - self.last_used >= self.idle_ttl:
            for worker in self.idle:  # the whole pool has been idle long enough
                worker.retire()
            self.idle.clear()
            return
        for worker in sorted(self.idle, key=lambda w: w.idle_since):
            if keep > self.min_workers and now - worker.idle_since >= self.scaledown_ttl:
                worker.retire()
                self.idle.remove(worker)
                keep -= 1
        if self.idle:
            next_drop = min(w.idle_since for w in self.idle) + self.scaledown_ttl
            self._schedule_reap(min(next_drop, self.last_used + self.idle_ttl) - now)

    async def close(self) -> None:
        """Kill every worker of the pool and wait until all are reaped."""
        self.closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(RuntimeError("The process executor is closed"))
                waiter.exception()
        self.idle.clear()
        workers = list(self.workers)
        for worker in workers:
            worker.kill("closed", grace=False)
        if workers:
            await asyncio.wait([asyncio.ensure_future(w.exited) for w in workers], timeout=5)
        for worker in workers:  # a process stuck in the kernel: reap it the blocking way
            if not worker.exited.done() and worker.proc is not None:
                await asyncio.to_thread(worker.proc.wait, 5)
