"""The scheduler: a queue of actions, leases, retries with backoff, aborts, and recovery on start.

State lives in memory (one :class:`ActiveAction` per unfinished action) and every change is
committed through the :class:`DurableWriter` before anyone is told about it: a claim returns,
a waiter wakes, a watcher sees an event only once the database agrees. Leases are memory-only,
so on start every action the database shows as running lost its worker and is queued again
(its attempt counted against ``max_system_retries``, not the task's ``retries``).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import math
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable

from flyte._internal.core import Retry, children_reason
from flyte._internal.store import RunStore
from flyte._internal.store.sqlite import INLINE_LIMIT
from flyte.models import ActionPhase
from flyte.server.admission import HostAdmission
from flyte.server.cache import cache_put
from flyte.server.feed import Feeds, Waiters, load_feed
from flyte.server.settings import ServerSettings
from flyte.server.state import (
    ABORTED,
    ACTIVE_SELECT,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    ActiveAction,
    Changes,
    Key,
    RunSpec,
    active_from_row,
    load_spec,
    run_end,
    run_phase,
)
from flyte.server.writer import DurableWriter, apply

logger = logging.getLogger("flyte.server")
WAITING = ActionPhase.WAITING_FOR_RESOURCES
ABORTED_ERROR = "ActionAbortedError"
LOST_ERROR = "WorkerDiedError"


class Scheduler:
    """Owns every unfinished action of the server's runs."""

    def __init__(self, store: RunStore, settings: ServerSettings):
        self.store = store
        self.settings = settings
        self.writer = DurableWriter(store)
        self.active: dict[Key, ActiveAction] = {}
        self.running: dict[Key, ActiveAction] = {}
        self.specs: dict[str, RunSpec] = {}
        self._children: dict[Key, set[str]] = defaultdict(set)
        self._by_run: dict[str, set[str]] = defaultdict(set)
        self._heap: list[tuple[float, int, Key]] = []
        self._tokens = itertools.count(1)
        self._queue_event = asyncio.Event()
        self._flight: dict[str, Key] = {}
        self._parked: dict[str, list[ActiveAction]] = defaultdict(list)
        self._bounded: dict[Key, ActiveAction] = {}
        """Actions with a ``deadline`` or ``max_queued_time``, checked by the sweeper."""
        self._bounds_changed = asyncio.Event()
        """Set when a bounded action falls due before the sweeper's next wake (``_wake_at``)."""
        self._wake_at = math.inf
        """When the sleeping sweeper wakes next; infinite while it sweeps (any new bound counts)."""
        self.admission = HostAdmission() if settings.executor == "processes" else None
        """The host's CPU, memory and GPUs, handed out to actions (not for Ray, which places them)."""
        self._starved: deque[ActiveAction] = deque()
        """Queued actions held back until enough of the host's resources are released."""
        self._newly_starved: list[ActiveAction] = []
        """Starved by the last ``_take``: their ``waiting_for_resources`` is recorded by the claim."""
        self._resources_freed = False
        self._held: dict[str, deque[ActiveAction]] = {}
        """Per run at its ``max_action_concurrency``: queued actions held back, oldest first
        (queued again by ``_release`` as the run's actions end or start waiting on children)."""
        self.waiters = Waiters()
        self.feeds = Feeds(lambda run: load_feed(store, run))
        self._sweeper: asyncio.Task[None] | None = None
        self.closing = False
        self._lease_aborts: dict[str, set[Key]] = defaultdict(set)
        """Per worker: its running actions aborted since it last heard (see ``wait_heartbeat``)."""
        self._lease_events: dict[str, asyncio.Event] = {}
        self.listeners: list[Callable[[Changes], None]] = []
        """Called with every committed change (conditions, notifications); must not block."""

    # -- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the unfinished actions and queue again those that were running."""
        rows = await asyncio.to_thread(self.store.execute_read, ACTIVE_SELECT)
        loaded = [active_from_row(r) for r in rows]
        for run in {a.run for a in loaded}:
            spec = await asyncio.to_thread(load_spec, self.store, run)
            if spec is not None:
                self.specs[run] = spec
        ch, now = Changes(), time.time()
        for a in loaded:
            if a.run in self.specs:
                self.add(a)
        for a in list(self.active.values()):
            if a.phase.is_terminal:
                continue
            parent = self.active.get((a.run, a.parent)) if a.parent else None
            if a.parent and (parent is None or parent.phase.is_terminal):
                self._abort(ch, a, "its parent action ended while the server was down", now)
            elif not _pending(a):
                self._lost(ch, a, "the server restarted", now)
            else:
                ch.queued.append(a)
        await asyncio.to_thread(self.store.execute_write, lambda conn: apply(conn, ch.sql))
        self._settle(ch)
        if loaded:
            logger.info("flyte server: %d unfinished actions loaded", len(self.active))
        self.writer.start()
        self._sweeper = asyncio.create_task(self._sweep(), name="flyte-lease-sweeper")

    def begin_shutdown(self) -> None:
        """Answer every long-poll now (claims get nothing), so that the HTTP server can stop."""
        self.closing = True
        self._notify_queue()
        self.waiters.wake_all()
        self.feeds.waiters.wake_all()
        for event in self._lease_events.values():
            event.set()

    async def stop(self) -> None:
        self.begin_shutdown()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await asyncio.to_thread(self.writer.stop)

    async def spec(self, run: str) -> RunSpec | None:
        """What ``run`` was created with (None for an unknown run)."""
        found = self.specs.get(run)
        return found if found is not None else await asyncio.to_thread(load_spec, self.store, run)

    async def offload(self, data: bytes | None) -> tuple[bytes | None, str | None]:
        """``store.offload`` off the event loop when ``data`` is large enough to go to a file."""
        if data is None or len(data) <= INLINE_LIMIT:
            return data, None
        return await asyncio.to_thread(self.store.offload, data)

    # -- memory -------------------------------------------------------------------------------------

    def add(self, a: ActiveAction) -> None:
        self.active[a.key] = a
        if a.task.deadline is not None or a.task.max_queued_time is not None:
            self._bounded[a.key] = a
            due = a.due_at()
            if due is not None and due < self._wake_at:
                self._bounds_changed.set()
        self._by_run[a.run].add(a.name)
        if a.parent is not None:
            siblings = self._children[(a.run, a.parent)]
            siblings.add(a.name)
            if len(siblings) == 1 and self.admission is not None:  # the parent now waits on children
                self._resources_freed |= self.admission.park((a.run, a.parent))

    def drop(self, a: ActiveAction) -> None:
        if self.active.get(a.key) is not a:
            return
        del self.active[a.key]
        self.running.pop(a.key, None)
        self._bounded.pop(a.key, None)
        names = self._by_run.get(a.run)
        if names is not None:
            names.discard(a.name)
            if not names:
                del self._by_run[a.run]
                self.specs.pop(a.run, None)
                self._held.pop(a.run, None)
        if a.parent is not None:
            siblings = self._children.get((a.run, a.parent))
            if siblings is not None:
                siblings.discard(a.name)
                if not siblings:
                    del self._children[(a.run, a.parent)]
                    if self.admission is not None:  # the parent's children ended: it works again
                        self.admission.unpark((a.run, a.parent))

    def run_actions(self, run: str) -> list[ActiveAction]:
        return [self.active[(run, n)] for n in self._by_run.get(run, ())]

    def _push(self, a: ActiveAction) -> None:
        a.token = next(self._tokens)
        heapq.heappush(self._heap, (a.not_before, a.token, a.key))
        self._notify_queue()

    def _notify_queue(self) -> None:
        event, self._queue_event = self._queue_event, asyncio.Event()
        event.set()

    async def commit(self, ch: Changes) -> None:
        """Write ``ch`` durably, then announce it (even if the caller is cancelled meanwhile)."""
        await asyncio.shield(asyncio.ensure_future(self._write_and_settle(ch)))

    async def _write_and_settle(self, ch: Changes) -> None:
        try:
            await self.writer.write(ch.sql)
        except BaseException:
            for a in ch.created:  # never recorded: forget them
                self.drop(a)
            raise
        finally:
            self._settle(ch)

    def _settle(self, ch: Changes) -> None:
        for a in ch.finished:
            self.drop(a)
            self.waiters.wake(a.key)
        for a in ch.queued:
            if _pending(a) and self.active.get(a.key) is a:
                self._push(a)
        if self._resources_freed:
            self._resources_freed = False
            while self._starved:  # each is admitted again, in order, when claimed
                a = self._starved.popleft()
                if _pending(a) and self.active.get(a.key) is a:
                    self._push(a)
        if self._held:  # a run's action ended, or a parent now waits on a new child: room again?
            for run in ch.events:  # every transition is an event of its run
                if run in self._held:
                    self._release(run)
        for run, events in ch.events.items():
            self.feeds.publish(run, events, ended=run in ch.ended_runs)
        for worker, key in ch.lease_aborts:
            self._lease_aborts[worker].add(key)
            event = self._lease_events.get(worker)
            if event is not None:
                event.set()
        for listen in self.listeners:
            try:
                listen(ch)
            except Exception:  # a listener's bug must never stop the scheduler
                logger.exception("flyte server: a scheduler listener failed")

    # -- transitions --------------------------------------------------------------------------------

    def finish(
        self,
        ch: Changes,
        a: ActiveAction,
        phase: ActionPhase,
        now: float,
        child_reason: str | None = None,
        outputs: tuple[bytes | None, str | None] | None = None,
    ) -> None:
        """End ``a`` in ``phase``; its unfinished descendants end aborted."""
        a.ended_at = a.ended_at or now
        a.worker = None
        self.running.pop(a.key, None)
        self._give_back(a)
        ch.transition(a, phase, now)
        ch.sql.extend(a.update())
        ch.finished.append(a)
        self._abort_descendants(ch, a, child_reason or children_reason(a.name, phase), now)
        if a.name == "a0":
            ch.sql.append(run_end(a.run, a, a.error_message if phase is ABORTED else None))
            ch.ended_runs.add(a.run)
        if a.cache_key and self._flight.get(a.cache_key) == a.key:
            del self._flight[a.cache_key]
            for waiting in self._parked.pop(a.cache_key, []):
                if not _pending(waiting) or self.active.get(waiting.key) is not waiting:
                    continue
                if phase is SUCCEEDED and outputs is not None:  # serialized: reuse the result
                    waiting.cache_status = "hit"
                    waiting.started_at = now
                    ch.sql.append(waiting.set_outputs(outputs))
                    self.finish(ch, waiting, SUCCEEDED, now, outputs=outputs)
                else:
                    ch.queued.append(waiting)

    def _abort(self, ch: Changes, a: ActiveAction, reason: str, now: float) -> None:
        if a.phase.is_terminal:
            return
        if a.worker is not None and a.phase is RUNNING:
            ch.lease_aborts.append((a.worker, a.key))
        a.error_type, a.error_message = ABORTED_ERROR, reason
        self.finish(ch, a, ABORTED, now, child_reason=reason)

    def _abort_descendants(self, ch: Changes, a: ActiveAction, reason: str, now: float) -> None:
        for name in list(self._children.get(a.key, ())):
            child = self.active.get((a.run, name))
            if child is not None:
                self._abort(ch, child, reason, now)

    def _give_back(self, a: ActiveAction) -> None:
        """``a``'s attempt ended: the host's resources it held are free again."""
        if self.admission is not None and self.admission.release(a.key):
            self._resources_freed = True

    def requeue(self, ch: Changes, a: ActiveAction, not_before: float, now: float) -> None:
        a.not_before = not_before
        a.worker = None
        self.running.pop(a.key, None)
        self._give_back(a)
        ch.transition(a, QUEUED, now)
        ch.sql.extend(a.update())
        ch.queued.append(a)

    def _lost(self, ch: Changes, a: ActiveAction, why: str, now: float) -> None:
        """The worker of ``a`` is gone: queue it again, or fail it after too many losses."""
        a.system_failures += 1
        if a.system_failures > self.settings.max_system_retries:
            a.error_type = LOST_ERROR
            a.error_message = (
                f"the worker running this action was lost {a.system_failures} times (last: {why})"
            )
            self.finish(ch, a, ActionPhase.FAILED, now)
        else:
            logger.info("flyte server: action %s/%s queued again: %s", a.run, a.name, why)
            self.requeue(ch, a, now, now)

    # -- executor protocol --------------------------------------------------------------------------

    async def claim(
        self, worker: str, limit: int, timeout: float, gone: Callable[[], Awaitable[bool]] | None = None
    ) -> list[ActiveAction]:
        """Up to ``limit`` queued actions (oldest first), now running under ``worker``'s lease.

        ``gone()`` tells whether the caller hung up while waiting; then nothing is handed out.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, min(timeout, 300.0))
        woken = False
        while not self.closing:
            if woken and gone is not None and await gone():
                return []
            picked = self._take(worker, limit, time.time())
            if self._newly_starved:
                await self._record_waiting()
            if picked:
                break
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            if self._heap:
                remaining = min(remaining, max(0.01, self._heap[0][0] - time.time()))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._queue_event.wait(), remaining)
            woken = True
        else:
            return []
        ch, now = Changes(), time.time()
        for a in picked:
            a.begin_attempt(worker, now, now + self.settings.lease_seconds)
            self.running[a.key] = a
            ch.transition(a, RUNNING, now)
            ch.sql.extend(a.update())
            if a.name == "a0":
                ch.sql.append(run_phase(a.run, RUNNING))
        await self.commit(ch)
        return [a for a in picked if a.phase is RUNNING and a.worker == worker]

    def _take(self, worker: str, limit: int, now: float) -> list[ActiveAction]:
        picked: list[ActiveAction] = []
        busy: dict[str, int] = {}  # per run with a concurrency limit: its busy actions, these picks included
        while self._heap and len(picked) < limit and self._heap[0][0] <= now:
            _, token, key = heapq.heappop(self._heap)
            a = self.active.get(key)
            if a is None or a.token != token or not _pending(a):
                continue
            serialized = a.cache_key if a.task.cache is not None and a.task.cache.serialize else None
            if serialized:
                holder = self._flight.setdefault(serialized, a.key)
                if holder != a.key:  # an identical call is executing: wait for its result
                    self._parked[serialized].append(a)
                    continue
            cap = self.concurrency_limit(a.run)
            if cap is not None:
                n = busy[a.run] = busy[a.run] if a.run in busy else self._busy(a.run)
                if n >= cap:  # the run is at its max_action_concurrency: hold it back
                    a.held = f"a slot (max_action_concurrency={cap})"
                    self._held.setdefault(a.run, deque()).append(a)
                    continue
            if not self._admitted(a):
                continue
            if cap is not None:
                busy[a.run] += 1
            a.held = None
            picked.append(a)
        return picked

    # -- max_action_concurrency (rule 4 of the action core) -------------------------------------------
    #
    # A run's busy actions are its running actions without an unfinished child: a parent that
    # submitted children waits on them and gives its slot back, so nested parents cannot deadlock
    # on the limit (as locally). Unlike a local parent, a parent resumed on a worker cannot be made
    # to wait for a slot again: it counts as soon as its children end, and holds back new starts.

    def concurrency_limit(self, run: str) -> int | None:
        spec = self.specs.get(run)
        return spec.max_action_concurrency if spec is not None else None

    def _busy(self, run: str) -> int:
        count = 0
        for name in self._by_run.get(run, ()):
            a = self.active[(run, name)]
            if a.phase is RUNNING and not self._children.get(a.key):
                count += 1
        return count

    def _admitted(self, a: ActiveAction) -> bool:
        """Whether the host's resources hold ``a`` now; else it waits among the starved."""
        if self.admission is None or self.admission.try_admit(a.key, a.task.name, a.task.resources):
            return True
        a.held = f"resources ({self.admission.describe()})"
        self._starved.append(a)
        if a.phase is QUEUED:
            self._newly_starved.append(a)
        return False

    async def _record_waiting(self) -> None:
        """Record that the actions ``_take`` could not admit wait for resources (as locally:
        ``queued`` → ``waiting_for_resources`` → ``running``)."""
        ch, now = Changes(), time.time()
        for a in self._newly_starved:
            if a.phase is QUEUED and self.active.get(a.key) is a:
                ch.transition(a, WAITING, now)
                ch.sql.extend(a.update())
        self._newly_starved.clear()
        if ch.sql:
            await self.commit(ch)

    def _waiting_for(self, a: ActiveAction) -> str:
        """What a queued action waits for, as a ``max_queued_time`` error names it."""
        if a.held is not None:
            return a.held
        cap = self.concurrency_limit(a.run)
        if cap is not None and self._busy(a.run) >= cap:
            return f"a slot (max_action_concurrency={cap})"
        return "a worker"

    def _release(self, run: str) -> None:
        """Queue again as many of ``run``'s held actions as it has room for."""
        held, cap = self._held.get(run), self.concurrency_limit(run)
        if held is None:
            return
        free = len(held) if cap is None else cap - self._busy(run)
        while held and free > 0:
            a = held.popleft()
            if _pending(a) and self.active.get(a.key) is a:
                self._push(a)
                free -= 1
        if not held:
            del self._held[run]

    def heartbeat(self, worker: str, actions: list[tuple[str, str, int]]) -> list[tuple[str, str]]:
        """Renew ``worker``'s leases; return the actions it must stop (aborted, or no longer its)."""
        expires = time.time() + self.settings.lease_seconds
        stop = []
        for run, name, attempt in actions:
            a = self.current(run, name, attempt)
            if a is not None and a.worker == worker:
                a.lease_expires = expires
            else:
                stop.append((run, name))
        told = self._lease_aborts.pop(worker, None)
        if told:  # aborted actions claimed after the worker made this request are not in its list
            stop.extend(key for key in told if key not in stop)
        return stop

    async def wait_heartbeat(
        self, worker: str, actions: list[tuple[str, str, int]], wait: float
    ) -> list[tuple[str, str]]:
        """``heartbeat``, answered when one of ``worker``'s actions is aborted or after ``wait``
        seconds (at most half a lease, so that leases are renewed in time), whichever is first."""
        stop = self.heartbeat(worker, actions)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(wait, self.settings.lease_seconds / 2)
        event = self._lease_events.setdefault(worker, asyncio.Event())
        try:
            while not stop and not self.closing:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                event.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(event.wait(), remaining)
                stop = self.heartbeat(worker, actions)
        finally:
            if self._lease_events.get(worker) is event and not event.is_set():
                del self._lease_events[worker]
        return stop

    def current(self, run: str, name: str, attempt: int) -> ActiveAction | None:
        """The action if ``attempt`` is its running attempt (a report for it is not stale)."""
        a = self.active.get((run, name))
        return a if a is not None and a.phase is RUNNING and a.attempt == attempt else None

    async def succeed(self, a: ActiveAction, outputs: tuple[bytes | None, str | None]) -> None:
        ch, now = Changes(), time.time()
        a.error_type = a.error_message = None
        if a.cache_key:
            spec = self.specs.get(a.run)
            a.cache_status = "overwritten" if spec is not None and spec.overwrite_cache else "miss"
            ch.sql.append(cache_put(a.cache_key, a.task, outputs, a.run, a.name))
        ch.sql.append(a.set_outputs(outputs))
        self.finish(ch, a, SUCCEEDED, now, outputs=outputs)
        await self.commit(ch)

    async def fail(
        self,
        a: ActiveAction,
        phase: ActionPhase,
        error_type: str,
        message: str,
        retryable: bool,
        code: str | None = None,
        started: bool = True,
    ) -> None:
        """The running attempt of ``a`` failed: retry it or end the action (rule 5). An attempt
        that never ``started`` (a missing secret) is not counted and never retried."""
        ch, now = Changes(), time.time()
        if started:
            a.failures += 1
        else:
            a.attempts -= 1
            if a.attempts == 0:
                a.started_at = None
            retryable = False
        timed_out = phase is ActionPhase.TIMED_OUT
        step = a.task.policy().after_failure(a.failures, retryable, timed_out, a.created_at, now)
        if isinstance(step, Retry):
            self._abort_descendants(ch, a, children_reason(a.name, ActionPhase.FAILED), now)
            self.requeue(ch, a, now + step.delay, now)
        else:
            a.error_type, a.error_message, a.error_code = error_type, message, code
            self.finish(ch, a, step.phase, now)
        await self.commit(ch)

    async def abort_run(self, run: str, reason: str) -> bool:
        """Abort every unfinished action of ``run``; False if none was unfinished."""
        actions = [a for a in self.run_actions(run) if not a.phase.is_terminal]
        if not actions:
            return False
        ch, now = Changes(), time.time()
        root = self.active.get((run, "a0"))
        for a in ([root] if root is not None else []) + actions:
            self._abort(ch, a, reason, now)
        await self.commit(ch)
        return True

    async def abort_action(self, run: str, action: str, reason: str) -> bool:
        """Abort one action and its descendants; False if it is not unfinished. Its parent's worker
        learns it from the run's feed and gets ActionAbortedError, which the parent may catch."""
        if action == "a0":
            return await self.abort_run(run, reason)
        a = self.active.get((run, action))
        if a is None or a.phase.is_terminal:
            return False
        ch = Changes()
        self._abort(ch, a, reason, time.time())
        await self.commit(ch)
        return True

    async def worker_gone(self, worker: str) -> None:
        """``worker`` exited: queue its actions again now instead of at lease expiry."""
        self._lease_aborts.pop(worker, None)  # nobody is left to tell
        self._lease_events.pop(worker, None)
        lost = [a for a in self.running.values() if a.worker == worker and a.phase is RUNNING]
        if lost:
            ch, now = Changes(), time.time()
            for a in lost:
                self._lost(ch, a, f"worker {worker} exited", now)
            await self.commit(ch)

    async def _sweep(self) -> None:
        interval = max(0.05, min(1.0, self.settings.lease_seconds / 4))
        next_due: float | None = None
        while True:
            await self._sweep_wait(interval, next_due)
            ch, now = Changes(), time.time()
            for a in [a for a in self.running.values() if a.phase is RUNNING and a.lease_expires < now]:
                self._lost(ch, a, f"lease of worker {a.worker} expired", now)
            next_due = None
            for a in list(self._bounded.values()):
                due = None if a.phase.is_terminal else a.due_at()
                if due is None:
                    continue
                if due > now:
                    next_due = due if next_due is None else min(next_due, due)
                    continue
                overdue = a.overdue(now, self._waiting_for(a))
                if overdue is not None:
                    a.error_type, a.error_message = overdue
                    self.finish(ch, a, ActionPhase.TIMED_OUT, now)
            if ch.sql:
                try:
                    await self.commit(ch)
                except Exception as e:  # keep sweeping; the store may come back
                    logger.error("flyte server: could not record expired leases or deadlines: %s", e)
            self.feeds.prune()

    async def _sweep_wait(self, interval: float, next_due: float | None) -> None:
        """Sleep ``interval`` (leases), or less when a bounded action falls due sooner (``next_due``,
        found by the last sweep, or a bound added meanwhile): a ``max_queued_time`` or ``deadline``
        ends the action when it passes, not up to a sweep later."""
        now = time.time()
        timeout = interval if next_due is None else min(interval, max(0.05, next_due - now))
        self._wake_at = now + timeout
        try:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._bounds_changed.wait(), timeout)
        finally:
            # awake: a bound added from now on is seen by this sweep or sets the event for the next
            self._wake_at = math.inf
            self._bounds_changed.clear()


def _pending(a: ActiveAction) -> bool:
    """Whether ``a`` waits to be claimed: queued, or waiting for the host's resources."""
    return a.phase is QUEUED or a.phase is WAITING
