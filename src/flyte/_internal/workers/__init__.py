"""Run action attempts in worker processes: isolation, hard timeouts, memory limits, warm reuse.

A controller hands an attempt to :class:`ProcessExecutor` when the task needs what threads
cannot give: a timeout that stops even a busy loop, a memory limit, a reusable environment, or
isolation from the parent (a crash kills the worker, not the run). Workers are fresh
interpreters (never forks: the parent runs threads and an event loop) started with the parent's
``sys.path``, ``sys.argv``, working directory and environment. They find the task by importing
its module; a task defined in the script the parent runs as ``__main__`` is loaded from that
file under another name, so the script's ``if __name__ == "__main__":`` block does not run.

Workers live in pools keyed by environment: a task with a ``ReusePolicy`` gets its
environment's own warm workers; every other task shares a generic pool of at most
``max_workers`` workers. A worker runs one action at a time.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import os
import weakref
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flyte._internal.workers import _protocol as p
from flyte._internal.workers._call import CallSite, OnReplay, OnSubmit, OnTrace, call_site
from flyte._internal.workers._launch import kill_all_at_exit
from flyte._internal.workers._pool import WorkerPool
from flyte._internal.workers._process import WorkerProcess

if TYPE_CHECKING:
    from flyte._task import TaskTemplate
    from flyte.models import TaskContext

__all__ = [
    "AttemptResult",
    "run_for_controller",
    "CallSite",
    "OnSubmit",
    "OnTrace",
    "ProcessExecutor",
    "call_site",
    "logs_of",
    "memory_limit_of",
    "needs_isolation",
]

atexit.register(kill_all_at_exit)

DEFAULT_IDLE_TTL = 60.0
DEFAULT_KILL_GRACE = 0.5
DEFAULT_MEMORY_POLL = 0.1


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """What a successful attempt produced: encoded outputs and its stdout/stderr lines."""

    outputs: bytes
    logs: list[tuple[str, str]] = field(default_factory=list)
    """``(stream, line)`` pairs in arrival order; ``stream`` is ``"stdout"`` or ``"stderr"``."""


def logs_of(error: BaseException) -> list[tuple[str, str]]:
    """The stdout/stderr lines of a failed attempt (attached to the error ``run()`` raised)."""
    return list(getattr(error, "worker_logs", None) or [])


def memory_limit_of(task: TaskTemplate[Any, Any]) -> int | None:
    """The task's ``Resources(memory=...)`` limit in bytes, or None."""
    return task.resources.memory_limit_bytes() if task.resources is not None else None


def needs_isolation(task: TaskTemplate[Any, Any], *, isolate_all: bool = False) -> bool:
    """Whether an attempt of ``task`` should run in a worker process rather than on a thread.

    Sync tasks need one for a timeout (a thread cannot be stopped), a memory limit or a reusable
    environment; with ``isolate_all`` every task runs in one.
    """
    if isolate_all:
        return True
    if task.is_async:
        return False
    timeout = task.timeout.max_runtime_seconds if task.timeout is not None else None
    return bool(timeout or memory_limit_of(task) or task.reusable is not None)


@dataclass(frozen=True, slots=True)
class _Placement:
    locator: p.Locator
    pool_key: Hashable
    policy: Any


def _seconds(value: Any, default: float) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total()) if total is not None else default


class ProcessExecutor:
    """Runs action attempts in pooled worker processes; use it from one event loop.

    Args:
        max_workers: workers of the generic pool doing work at once (default: the CPU count).
            Workers waiting on child tasks do not count.
        idle_ttl: seconds an idle generic worker is kept before it exits.
        kill_grace: seconds between SIGTERM and SIGKILL when an attempt times out or is cancelled.
        memory_poll_interval: how often the resident memory of a worker with a limit is checked.
    """

    def __init__(
        self,
        *,
        max_workers: int | None = None,
        idle_ttl: float = DEFAULT_IDLE_TTL,
        kill_grace: float = DEFAULT_KILL_GRACE,
        memory_poll_interval: float = DEFAULT_MEMORY_POLL,
    ):
        self.max_workers = max_workers or os.cpu_count() or 1
        self.idle_ttl = idle_ttl
        self.kill_grace = kill_grace
        self.memory_poll_interval = memory_poll_interval
        self._pools: dict[Hashable, WorkerPool] = {}
        self._placements: weakref.WeakKeyDictionary[Any, _Placement] = weakref.WeakKeyDictionary()
        self._parent_tasks: dict[tuple[Any, ...], TaskTemplate[Any, Any]] = {}
        self._closed = False

    # -- the interface ---------------------------------------------------------------------------------------

    def supports(self, task: TaskTemplate[Any, Any]) -> bool:
        """False when a worker could not import ``task`` (defined in a function or interactively)."""
        try:
            self._placement(task)
        except Exception:
            return False
        return True

    async def run(
        self,
        task: TaskTemplate[Any, Any],
        inputs: bytes,
        tctx: TaskContext,
        *,
        on_submit: OnSubmit | None = None,
        on_trace: OnTrace | None = None,
        on_replay: OnReplay | None = None,
        timeout: float | None,
        memory_limit: int | None,
        env: dict[str, str],
    ) -> AttemptResult:
        """Execute one attempt of ``task`` in a worker and return its encoded outputs and logs.

        ``on_submit(child, args, kwargs)`` runs a child task the action calls and returns its
        value; while it runs, ``call_site()`` tells the group and custom context in effect where
        the action made the call (build the child's parent frame from them). ``on_trace(entry)``
        records a finished ``@flyte.trace`` call; ``on_replay(name, inputs)``, given when the run
        recovers another, returns the recorded result of the next trace call, if any. ``env`` is
        set in the worker for this attempt only.

        Raises the task's own exception (or ``CustomError`` when its class cannot be rebuilt
        here), ``MaxRuntimeExceededError`` after ``timeout`` seconds, ``OOMError`` beyond
        ``memory_limit`` bytes, ``WorkerDiedError`` when the worker exits mid-attempt.
        Cancelling the caller kills the worker.
        """
        if self._closed:
            raise RuntimeError("The process executor is closed")
        placement = self._placement(task)
        pool = self._pool(placement)
        worker = await pool.acquire()
        try:
            call = worker.dispatch(
                task,
                placement.locator,
                inputs,
                tctx,
                env,
                timeout,
                memory_limit,
                replaying=on_replay is not None,
            )
        except BaseException:
            pool.release(worker)
            raise
        call.on_submit, call.on_trace, call.on_replay = on_submit, on_trace, on_replay
        try:
            outputs = await call.future
        except asyncio.CancelledError:
            if worker.call is call:
                worker.kill("cancelled")
            raise
        finally:
            pool.release(worker)
        return AttemptResult(outputs, call.logs)

    async def aclose(self) -> None:
        """Kill every worker and wait until all are reaped; the executor cannot be used after."""
        self._closed = True
        pools = list(self._pools.values())
        self._pools.clear()
        await asyncio.gather(*(pool.close() for pool in pools))

    def worker_pids(self) -> list[int]:
        """Process ids of the workers not yet reaped (for diagnostics and tests)."""
        return [w.pid for pool in self._pools.values() for w in pool.workers if w.pid]

    # -- placement -------------------------------------------------------------------------------------------

    def _placement(self, task: TaskTemplate[Any, Any]) -> _Placement:
        placement = self._placements.get(task)
        if placement is None:
            policy = task.reusable
            if policy is None:
                key: Hashable = ("generic",)
            else:
                image = hashlib.blake2b(repr(task.image).encode(), digest_size=6).hexdigest()
                key = ("env", task.env_name, image)
            placement = _Placement(p.locator_for(task), key, policy)
            self._placements[task] = placement
        return placement

    def _pool(self, placement: _Placement) -> WorkerPool:
        pool = self._pools.get(placement.pool_key)
        if pool is not None:
            return pool
        policy = placement.policy
        if policy is None:
            low, high = 0, self.max_workers
            scaledown = idle = self.idle_ttl
        else:
            low = int(getattr(policy, "min_replicas", 1))
            high = int(getattr(policy, "capacity", None) or getattr(policy, "max_replicas", None) or 1)
            scaledown = _seconds(getattr(policy, "scaledown_ttl", None), self.idle_ttl)
            idle = _seconds(getattr(policy, "idle_ttl", None), self.idle_ttl)
        pool = WorkerPool(
            placement.pool_key,
            self._make_worker,
            min_workers=low,
            max_workers=high,
            scaledown_ttl=scaledown,
            idle_ttl=idle,
        )
        self._pools[placement.pool_key] = pool
        return pool

    def _make_worker(self, pool: WorkerPool) -> WorkerProcess:
        return WorkerProcess(
            pool, self._locate, kill_grace=self.kill_grace, poll_interval=self.memory_poll_interval
        )

    def _locate(self, locator: p.Locator) -> TaskTemplate[Any, Any]:
        """The parent's own template for a child task a worker names."""
        key = tuple(locator)
        task = self._parent_tasks.get(key)
        if task is None:
            task = self._parent_tasks[key] = p.locate(locator, in_worker=False)
        return task


async def run_for_controller(
    executor: ProcessExecutor,
    frame: Any,
    task: TaskTemplate[Any, Any],
    inputs: bytes,
    *,
    timeout: float | None,
    env: dict[str, str],
) -> AttemptResult:
    """Run one attempt of the action of ``frame`` in a worker process on behalf of its controller:
    the worker's child calls and traces come back to ``frame.controller`` as if made in-process."""
    from flyte.models import GroupData

    controller = frame.controller

    async def on_submit(child: TaskTemplate[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        site = call_site()
        caller = frame
        if site is not None:
            group = GroupData(site.group) if site.group else None
            caller = frame.with_tctx(group_data=group, custom_context=site.custom_context)
        return await controller.submit(child, args, kwargs, caller)

    return await executor.run(
        task,
        inputs,
        frame.tctx,
        on_submit=on_submit,
        on_trace=lambda entry: controller.record_trace(frame, entry),
        on_replay=_replayer(controller, frame),
        timeout=timeout,
        memory_limit=memory_limit_of(task),
        env=env,
    )


def _replayer(controller: Any, frame: Any) -> OnReplay | None:
    """The controller's trace replay for the action of ``frame``, when its run recovers another
    (a local run with a replay source, a devbox action with recorded traces); else None, so that
    trace calls in the worker do not ask the parent for nothing."""
    replay_trace = getattr(controller, "replay_trace", None)
    recovering = getattr(controller, "replay", None) is not None or bool(
        getattr(frame.action, "replay", None)
    )
    if replay_trace is None or not recovering:
        return None
    return lambda name, inputs: replay_trace(frame, name, inputs)
