"""In-memory notifications behind the long-polls: ``wait`` on an action and ``watch`` on a run.

Nothing here reads the database in a loop. A waiter parks on an asyncio future that the scheduler
completes after committing the change it waits for. A run's event feed (phase changes and log
lines, numbered from 1) is built from the store the first time someone watches the run, then
extended by the scheduler as changes are committed; feeds nobody watched for a while are dropped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flyte._internal.store import RunStore

Event = dict[str, Any]
FEED_IDLE_SECONDS = 300.0


class Waiters:
    """Futures per key, completed by :meth:`wake`."""

    def __init__(self) -> None:
        self._waiting: dict[Any, set[asyncio.Future[None]]] = {}

    async def wait(self, key: Any, timeout: float) -> bool:
        """Park until :meth:`wake` (True) or ``timeout`` seconds (False)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, set()).add(future)
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            waiting = self._waiting.get(key)
            if waiting is not None:
                waiting.discard(future)
                if not waiting:
                    del self._waiting[key]

    def wake(self, key: Any) -> None:
        for future in self._waiting.pop(key, ()):
            if not future.done():
                future.set_result(None)

    def wake_all(self) -> None:
        for key in list(self._waiting):
            self.wake(key)


def _identity(event: Event) -> tuple:
    return (event["kind"], event["action"], event.get("phase"), event["at"], event.get("line"))


class RunFeed:
    """The numbered events of one run."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.ready = False
        self.ended = False
        self._early: list[Event] = []
        self.last_used = time.monotonic()

    @property
    def seq(self) -> int:
        return len(self.events)

    def fill(self, history: Iterable[Event], ended: bool) -> None:
        """Number the stored events, then the ones published while they were being read."""
        seen = set()
        for event in sorted(history, key=lambda e: e["at"]):
            seen.add(_identity(event))
            self._append(event)
        for event in self._early:
            if _identity(event) not in seen:
                self._append(event)
        self._early.clear()
        self.ended = self.ended or ended
        self.ready = True

    def publish(self, events: Iterable[Event]) -> None:
        for event in events:
            if self.ready:
                self._append(event)
            else:
                self._early.append(event)

    def _append(self, event: Event) -> None:
        self.events.append({**event, "seq": len(self.events) + 1})

    def after(self, since: int) -> list[Event]:
        return self.events[max(0, since) :]


class Feeds:
    """Feeds of the runs being watched."""

    def __init__(self, load: Callable[[str], Any]):
        self._load = load
        """``load(run) -> (events, ended)`` from the store; called in a thread."""
        self._feeds: dict[str, RunFeed] = {}
        self._ready: dict[str, asyncio.Future[None]] = {}
        self.waiters = Waiters()

    async def get(self, run: str) -> RunFeed:
        feed = self._feeds.get(run)
        if feed is None:
            feed = self._feeds[run] = RunFeed()
            self._ready[run] = asyncio.get_running_loop().create_future()
            try:
                events, ended = await asyncio.to_thread(self._load, run)
                feed.fill(events, ended)
            except BaseException:
                self._feeds.pop(run, None)
                raise
            finally:
                ready = self._ready.pop(run)
                if not ready.done():
                    ready.set_result(None)
        elif not feed.ready:
            await asyncio.shield(self._ready[run])
        feed.last_used = time.monotonic()
        return feed

    def publish(self, run: str, events: list[Event], ended: bool = False) -> None:
        feed = self._feeds.get(run)
        if feed is None:
            return
        feed.publish(events)
        if ended:
            feed.ended = True
        self.waiters.wake(run)

    def prune(self) -> None:
        """Drop feeds nobody watched for :data:`FEED_IDLE_SECONDS`."""
        cutoff = time.monotonic() - FEED_IDLE_SECONDS
        for run, feed in list(self._feeds.items()):
            if feed.ready and feed.last_used < cutoff:
                del self._feeds[run]


def phase_event(action: str, phase: str, at: float) -> Event:
    return {"kind": "phase", "action": action, "phase": phase, "at": at, "line": None, "stream": None}


def log_event(action: str, stream: str, at: float, line: str) -> Event:
    return {"kind": "log", "action": action, "phase": None, "at": at, "line": line, "stream": stream}


def load_feed(store: RunStore, run: str) -> tuple[list[Event], bool]:
    """The stored events of ``run`` (phase changes from action histories, then log lines), and
    whether the run has ended."""
    record = store.get_run(run)
    events: list[Event] = []
    for action in store.list_actions(run):
        events.extend(phase_event(action.name, e.phase.value, e.at) for e in action.history)
    events.extend(log_event(line.action, line.stream, line.at, line.line) for line in store.get_logs(run))
    return events, record is not None and record.ended_at is not None
