"""The threads that run sync task attempts in this process.

Two things a ``ThreadPoolExecutor`` cannot do, and why they matter here:

- Its threads are joined when the interpreter exits, so a process whose run was aborted (or
  timed out) would wait for a sync attempt that nobody awaits any more. These threads are daemons:
  once the run is over, the process can end.
- Nothing can stop one of its calls. :meth:`SyncThreads.interrupt` raises
  :class:`AttemptInterrupted` in the thread running an attempt, at its next Python instruction,
  so aborting a run stops a sync task that runs Python code. A thread blocked inside one C call
  (``time.sleep(60)``, a socket read) only sees it when that call returns.

Interrupting is exact: an attempt is interrupted only while it runs, never a later one on the
same thread, because a pending interruption is cleared, under the same lock, when it finishes.

Two things make many short calls cheap (a fan-out of 1,000 quick sync tasks):

- Threads are added only as they are needed. A burst of calls starts at most ``EAGER_THREADS``
  threads at once; the rest queue, and the loop checks every ``GROW_AFTER`` seconds whether the
  busy threads finished anything meanwhile. If they did not (they block: sleeping, waiting on
  I/O or on their own children), threads are added for every queued call, up to the cap. Quick
  calls are thus served by a few threads, passing the GIL among few; calls that block still all
  run at once, ``GROW_AFTER`` later; and a sync parent blocked on a queued child is never left
  waiting (the deadlock a fixed small pool would have).
- Results reach the loop in batches: a thread that finishes a call adds it to its loop's list of
  settled calls and wakes the loop only when that list was empty (one wake-up, and one write to
  the loop's self-pipe, for all the calls that finished while the loop was busy).
"""

from __future__ import annotations

import asyncio
import ctypes
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from queue import Empty, SimpleQueue
from typing import Any

IDLE_SECONDS = 60.0
"""A thread with no attempt to run for this long ends (the pool grows again on demand)."""

EAGER_THREADS = 2
"""Threads started at once for calls that find no idle thread; beyond these the pool grows only
when its busy threads make no progress for ``GROW_AFTER`` seconds."""

GROW_AFTER = 0.01
"""How long queued calls wait on busy threads that finish nothing before threads are added."""


class AttemptInterrupted(BaseException):
    """Raised inside a sync attempt's thread when its action was aborted; a ``BaseException`` so
    that a task's own ``except Exception`` does not swallow it."""


class Attempt:
    """One call running on a :class:`SyncThreads` thread; ``interrupt`` stops it."""

    __slots__ = ("_lock", "_ident", "_done", "interrupted")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ident: int | None = None
        self._done = False
        self.interrupted = False
        """Whether :meth:`interrupt` reached the call (its exception may still be pending)."""

    def _start(self) -> None:
        with self._lock:
            self._ident = threading.get_ident()

    def _finish(self) -> None:
        with self._lock:
            self._done = True
            # Drop an interruption that arrived too late to matter, and only then: clearing calls
            # PyThreadState_SetAsyncExc(ident, NULL), which (CPython 3.11) still raises the
            # interpreter's "async exception pending" flag, and nothing lowers it again while no
            # thread has one. Every thread then takes the eval loop's slow path at each check,
            # for the rest of the process (and under cProfile a waiting thread spins forever).
            if self.interrupted and self._ident is not None:
                _set_async_exc(self._ident, None)

    def interrupt(self) -> bool:
        """Raise ``AttemptInterrupted`` in the attempt's thread if it is running; True if so."""
        with self._lock:
            if self._done or self._ident is None:
                return False
            self.interrupted = True
            return _set_async_exc(self._ident, AttemptInterrupted)


def _set_async_exc(ident: int, exc: type[BaseException] | None) -> bool:
    setter = ctypes.pythonapi.PyThreadState_SetAsyncExc
    return setter(ctypes.c_ulong(ident), ctypes.py_object(exc) if exc else None) == 1


_Item = tuple[Any, Callable[..., Any], tuple, Any]
"""(future, fn, args, kwargs) from ``submit``; (the loop's future, fn, args, loop) from ``run_soon``."""


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None, cancel: bool) -> None:
    if future.done():  # cancelled meanwhile: nobody awaits it any more
        return
    if cancel:
        future.cancel()
    elif error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _settle_soon(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[Any],
    result: Any,
    error: BaseException | None,
    cancel: bool = False,
) -> None:
    """Settle ``future`` on its own loop, at once: with ``result`` or ``error``, or cancel it."""
    try:
        loop.call_soon_threadsafe(_settle, future, result, error, cancel)
    except RuntimeError:  # the loop is closed: nobody awaits the future any more
        pass


_Settled = tuple[asyncio.Future[Any], Any, "BaseException | None"]


class SyncThreads(Executor):
    """Up to ``max_workers`` daemon threads, started as needed (see the module's docstring).

    Counts, under one lock: ``_threads`` alive, ``_idle`` waiting and not reserved for a call,
    ``_backlog`` calls queued with no thread reserved, ``_finished`` calls done (the progress the
    growth check looks at).
    """

    def __init__(
        self,
        max_workers: int,
        thread_name_prefix: str = "flyte-sync",
        *,
        eager: int = EAGER_THREADS,
        grow_after: float = GROW_AFTER,
    ):
        self._max = max_workers
        self._eager = eager
        self._grow_after = grow_after
        self._prefix = thread_name_prefix
        self._work: SimpleQueue[_Item | None] = SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._started = 0
        self._idle = 0
        self._backlog = 0
        self._finished = 0
        self._watching: set[asyncio.AbstractEventLoop] = set()
        """Loops checking on progress while calls are queued (each checks the whole pool: a loop
        may end while calls of another are queued, which must still get threads)."""
        self._closed = False
        # Per loop, the calls finished on threads whose futures that loop has not settled yet.
        self._settled: dict[asyncio.AbstractEventLoop, list[_Settled]] = {}

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """The ``Executor`` method: a thread for the call at once while fewer than the cap run
        (no loop here to check on progress later)."""
        future: Future[Any] = Future()
        self._enqueue((future, fn, args, kwargs), None)
        return future

    def run_soon(
        self, loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], /, *args: Any
    ) -> asyncio.Future[Any]:
        """``loop.run_in_executor(self, fn, *args)`` minus the ``concurrent.futures.Future`` (its
        lock, condition and callbacks) between thread and loop: the thread settles the loop's future
        (in a batch with others, see the module's docstring); a future cancelled before its call
        starts skips the call. Call it on ``loop``'s thread."""
        future = loop.create_future()
        self._enqueue((future, fn, args, loop), loop)
        return future

    def _enqueue(self, item: _Item, loop: asyncio.AbstractEventLoop | None) -> None:
        start = 0
        watch: int | None = None
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot run sync attempts after the run's threads were shut down")
            if self._idle:
                self._idle -= 1
            elif self._threads < self._max and (loop is None or self._threads < self._eager):
                self._threads += 1
                start = 1
            else:
                self._backlog += 1
                if loop is not None and loop not in self._watching and self._threads < self._max:
                    self._watching = {w for w in self._watching if not w.is_closed()}
                    self._watching.add(loop)
                    watch = self._finished
            self._work.put(item)
        self._start(start)  # counted above, started outside the lock: finishing threads need it
        if watch is not None:
            assert loop is not None
            loop.call_later(self._grow_after, self._grow_if_stuck, loop, watch)

    def _grow_if_stuck(self, loop: asyncio.AbstractEventLoop, finished_before: int) -> None:
        """On ``loop``, every ``grow_after`` seconds while calls are queued: if no call finished
        since the last check, start a thread for each queued call (up to the cap)."""
        start = 0
        with self._lock:
            if self._closed or not self._backlog or self._threads >= self._max:
                self._watching.discard(loop)
                return
            if self._finished == finished_before:
                start = min(self._backlog, self._max - self._threads)
                self._threads += start
                self._backlog -= start  # each new thread takes one of the queued calls
            finished_now = self._finished
        self._start(start)
        loop.call_later(self._grow_after, self._grow_if_stuck, loop, finished_now)

    def _start(self, count: int) -> None:
        for _ in range(count):
            self._started += 1
            name = f"{self._prefix}-{self._started}"
            threading.Thread(target=self._serve, name=name, daemon=True).start()

    def _settle_batched(
        self,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[Any],
        result: Any,
        error: BaseException | None,
    ) -> None:
        """Hand a finished call's outcome to ``loop``; wake it only if it has none pending."""
        with self._lock:
            pending = self._settled.get(loop)
            if pending is not None:  # the loop was woken already and will settle this one too
                pending.append((future, result, error))
                return
            self._settled[loop] = [(future, result, error)]
        try:
            loop.call_soon_threadsafe(self._settle_pending, loop)
        except RuntimeError:  # the loop is closed: nobody awaits the futures any more
            with self._lock:
                self._settled.pop(loop, None)

    def _settle_pending(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            pending = self._settled.pop(loop, ())
        for future, result, error in pending:
            _settle(future, result, error, False)

    def _serve(self) -> None:
        while True:
            try:
                item = self._work.get(timeout=IDLE_SECONDS)
            except Empty:
                with self._lock:
                    if not self._idle:  # every idle thread is reserved: a call is on its way
                        continue
                    self._idle -= 1
                    self._threads -= 1
                return
            if item is None:  # shut down
                with self._lock:
                    self._threads -= 1
                return
            future, fn, args, extra = item
            if type(extra) is dict:  # from submit(): a concurrent future, extra the keywords
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(fn(*args, **extra))
                    except BaseException as e:  # AttemptInterrupted included: the attempt is over
                        future.set_exception(e)
            elif not future.cancelled():  # from run_soon(): the loop's future, extra the loop
                try:
                    self._settle_batched(extra, future, fn(*args), None)
                except BaseException as e:  # AttemptInterrupted included: the attempt is over
                    self._settle_batched(extra, future, None, e)
            del item, future, fn, args, extra  # do not keep the last call's values alive while idle
            with self._lock:
                self._finished += 1
                if self._backlog:
                    self._backlog -= 1  # this thread takes a queued call next
                else:
                    self._idle += 1

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking work; the threads end once idle (they are daemons: never waited for at exit)."""
        with self._lock:
            self._closed = True
            threads = self._threads
        if cancel_futures:
            while True:
                try:
                    item = self._work.get_nowait()
                except Empty:
                    break
                if item is None:
                    continue
                if type(item[3]) is dict:
                    item[0].cancel()
                else:
                    _settle_soon(item[3], item[0], None, None, cancel=True)
        for _ in range(threads):
            self._work.put(None)


_running = threading.local()


def running_attempts() -> tuple[Attempt, ...]:
    """The attempts running on this thread, outermost first (a sync parent's, then those of the
    children it runs on this thread); empty outside :func:`run_interruptibly`."""
    return getattr(_running, "attempts", ())


def run_interruptibly(attempt: Attempt, fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn(*args)`` as ``attempt`` (on the current thread), so that it can be interrupted.

    Calls nest (a sync child run on its parent's thread): when an inner one ends, an interruption
    of an outer one that arrived meanwhile is raised again (the inner one's end cleared it).
    """
    enclosing = running_attempts()
    _running.attempts = (*enclosing, attempt)
    attempt._start()
    try:
        return fn(*args)
    finally:
        attempt._finish()
        _running.attempts = enclosing
        if enclosing and any(a.interrupted for a in enclosing):
            raise AttemptInterrupted()
