"""LocalController: executes a run in this process.

Async tasks run as asyncio tasks on the run's event loop; sync tasks run on a pool of worker
threads. Every action goes through the same steps: bind and encode inputs -> derive the
deterministic action id -> replay lookup (recovery) -> cache lookup -> execute attempts
(timeouts, retries) -> record the outcome (and the cache entry).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from flyte._internal.controllers._action import ActionNode, NullRecorder, RunRecorder, TraceEntry
from flyte._internal.runtime.convert import decode_outputs, encode_inputs
from flyte._internal.runtime.execute import execute
from flyte.errors import (
    DeadlineExceededError,
    MaxQueuedTimeExceededError,
    MaxRuntimeExceededError,
    NonRecoverableError,
    TaskTimeoutError,
)
from flyte.models import ActionID, ActionPhase, GroupData, RawDataPath, TaskContext

if TYPE_CHECKING:
    from flyte._context import Frame
    from flyte._internal.run_config import RunConfig
    from flyte._internal.store import Replay, TaskCache
    from flyte._task import TaskTemplate

T = TypeVar("T")

# Enum member access goes through a descriptor; these run several times per action.
_QUEUED, _RUNNING, _SUCCEEDED = ActionPhase.QUEUED, ActionPhase.RUNNING, ActionPhase.SUCCEEDED
_FAILED, _ABORTED, _TIMED_OUT = ActionPhase.FAILED, ActionPhase.ABORTED, ActionPhase.TIMED_OUT

SYNC_WORKER_THREADS = 64
"""Threads for sync tasks. A sync parent blocks its thread while its children run, so this bounds
how deeply sync tasks can nest and how many sync tasks run at once in one local run."""


class LocalController:
    """Runs actions in-process. Construct it inside the run's event loop.

    ``cache`` and ``replay`` are optional services: without them every action executes.
    """

    def __init__(
        self,
        config: RunConfig,
        recorder: RunRecorder | None = None,
        cache: TaskCache | None = None,
        replay: Replay | None = None,
    ):
        self.config = config
        self.recorder: RunRecorder = recorder or NullRecorder()
        self.cache = cache
        self.replay = replay
        self.root: ActionNode | None = None
        self._loop = asyncio.get_running_loop()
        self._threads: ThreadPoolExecutor | None = None
        self._concurrency = (
            asyncio.Semaphore(config.max_action_concurrency) if config.max_action_concurrency else None
        )
        self._waiting: dict[ActionNode, int] = {}

    # -- the Controller interface -------------------------------------------------------------

    async def submit(
        self, task: TaskTemplate, args: tuple[Any, ...], kwargs: dict[str, Any], parent: Frame
    ) -> Any:
        bound = task.interface.bind(task.name, args, kwargs)
        data = encode_inputs(task, bound)
        parent_node: ActionNode = parent.action
        group = parent.tctx.group_data.name if parent.tctx.group_data else None
        input_hash = hashlib.blake2b(data, digest_size=16).hexdigest()
        seq = parent_node.next_seq(task.name, input_hash, group)
        action_id = parent_node.id.new_sub_action_from(seq, task.name, input_hash, group)
        node = ActionNode(action_id, task.name, parent_node, group, data)
        parent_node.children.append(node)
        self.recorder.action_changed(node)
        if self._concurrency is None:
            return await self._run_action(node, task, bound, parent.tctx)
        self._park(parent_node)
        try:
            return await self._run_action(node, task, bound, parent.tctx)
        finally:
            await self._unpark(parent_node)

    def submit_sync(
        self, task: TaskTemplate, args: tuple[Any, ...], kwargs: dict[str, Any], parent: Frame
    ) -> Any:
        return self.run_blocking(self.submit(task, args, kwargs, parent))

    def run_blocking(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def record_trace(self, parent: Frame, entry: TraceEntry) -> None:
        node: ActionNode = parent.action
        node.traces.append(entry)
        trace_recorded = getattr(self.recorder, "trace_recorded", None)
        if trace_recorded is not None:
            trace_recorded(node, len(node.traces) - 1, entry)

    def replay_trace(self, parent: Frame, name: str, inputs: bytes) -> TraceEntry | None:
        """A recorded result for the next trace call of ``parent``'s action, when recovering."""
        if self.replay is None:
            return None
        node: ActionNode = parent.action
        record = self.replay.trace_for(node.name, len(node.traces), name, inputs)
        if record is None:
            return None
        entry = TraceEntry(name, inputs, record.outputs, None, record.started_at, record.ended_at)
        self.record_trace(parent, entry)
        return entry

    async def stop(self) -> None:
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
            self._threads = None

    def abort(self, reason: str) -> None:
        """Cancel the whole run; every unfinished action ends as aborted with ``reason``."""
        root = self.root
        if root is not None and root.handle is not None and not root.phase.is_terminal:
            root.abort_reason = reason
            root.handle.cancel(reason)

    # -- the root action --------------------------------------------------------------------------

    async def run_root(self, task: TaskTemplate, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Execute ``task`` as the root action ``a0`` of this run and return its value."""
        bound = task.interface.bind(task.name, args, kwargs)
        data = encode_inputs(task, bound)
        node = ActionNode(ActionID(name="a0", run_name=self.config.name), task.name, None, None, data)
        self.root = node
        self.recorder.action_changed(node)
        seed = TaskContext(
            action=node.id,
            mode="local",
            custom_context=dict(self.config.custom_context),
            raw_data_path=RawDataPath(path=self.config.raw_data_dir),
            run_base_dir=str(self.config.run_base_dir),
        )
        return await self._run_action(node, task, bound, seed)

    # -- one action: replay, cache, attempts ---------------------------------------------------------

    def _context_for(
        self, node: ActionNode, task: TaskTemplate, parent: TaskContext, attempt: int
    ) -> TaskContext:
        return parent.derive(
            action=node.id,
            output_path=f"{parent.run_base_dir}/{node.name}/{attempt}",
            attempt_number=attempt,
            task_name=task.name,
            group_data=GroupData(node.group) if node.group else None,
            data={},
        )

    async def _run_action(
        self, node: ActionNode, task: TaskTemplate, bound: dict[str, Any], parent: TaskContext
    ) -> Any:
        node.handle = asyncio.current_task()
        if self.replay is not None:
            recorded = self.replay.outputs_for(node.name, task.name, node.inputs)
            if recorded is not None:
                return self._succeed(node, task, recorded, "recovered")
        if self.cache is None or not task.cache.is_enabled() or self.config.disable_run_cache:
            return await self._limited(node, task, parent)
        key = self.cache.key(task, bound, node.inputs)
        if not task.cache.serialize:
            return await self._cached(node, task, parent, key)
        async with self.cache.serialized(key):
            return await self._cached(node, task, parent, key)

    async def _cached(self, node: ActionNode, task: TaskTemplate, parent: TaskContext, key: str) -> Any:
        assert self.cache is not None
        if not self.config.overwrite_cache:
            hit = self.cache.get(key)
            if hit is not None:
                return self._succeed(node, task, hit, "hit")
        value = await self._limited(node, task, parent)
        assert node.outputs is not None
        self.cache.put(
            key, task, node.outputs, node.id.run_name or "", node.name, durable=task.cache.serialize
        )
        node.cache_status = "overwritten" if self.config.overwrite_cache else "miss"
        self.recorder.action_changed(node)
        return value

    def _succeed(self, node: ActionNode, task: TaskTemplate, outputs: bytes, cache_status: str) -> Any:
        node.outputs = outputs
        node.cache_status = cache_status
        node.started_at = node.ended_at = time.time()
        node.handle = None
        node.transition(_SUCCEEDED)
        self.recorder.action_changed(node)
        return decode_outputs(task, outputs)

    async def _limited(self, node: ActionNode, task: TaskTemplate, parent: TaskContext) -> Any:
        if self._concurrency is None:
            return await self._attempts(node, task, parent)
        await self._acquire_slot(node, task)
        try:
            return await self._attempts(node, task, parent)
        finally:
            if self._waiting.pop(node, 0) == 0:
                self._concurrency.release()

    async def _acquire_slot(self, node: ActionNode, task: TaskTemplate) -> None:
        """Wait for a slot, at most the task's ``max_queued_time``."""
        assert self._concurrency is not None
        queued = task.timeout.max_queued_seconds if task.timeout else None
        if queued is None:
            await self._concurrency.acquire()
            return
        try:
            await asyncio.wait_for(
                self._concurrency.acquire(), max(0.0, node.created_at + queued - time.time())
            )
        except asyncio.TimeoutError:
            error = MaxQueuedTimeExceededError(
                f"Task '{task.name}' (action '{node.name}') waited more than its max_queued_time of "
                f"{queued:g}s for a slot (max_action_concurrency={self.config.max_action_concurrency})"
            )
            self._finish(node, _TIMED_OUT, error=error)
            raise error from None

    # A parent waiting on children gives its slot back, so that max_action_concurrency counts
    # actions doing work and a chain of nested parents can never deadlock on the limit.
    def _park(self, parent: ActionNode) -> None:
        assert self._concurrency is not None
        waiting = self._waiting.get(parent, 0)
        if waiting == 0 and parent.phase is _RUNNING:
            self._concurrency.release()
        self._waiting[parent] = waiting + 1

    async def _unpark(self, parent: ActionNode) -> None:
        assert self._concurrency is not None
        waiting = self._waiting.get(parent, 0) - 1
        if waiting > 0:
            self._waiting[parent] = waiting
            return
        self._waiting.pop(parent, None)
        if parent.phase is _RUNNING:
            await self._concurrency.acquire()

    async def _attempts(self, node: ActionNode, task: TaskTemplate, parent: TaskContext) -> Any:
        retries = task.retries
        deadline = task.timeout.deadline_seconds if task.timeout else None
        deadline_at = None if deadline is None else node.created_at + deadline
        attempt = 0
        while True:
            node.attempts = attempt + 1
            if node.started_at is None:
                node.started_at = time.time()
            node.transition(_RUNNING)
            self.recorder.action_changed(node)
            tctx = self._context_for(node, task, parent, attempt)
            try:
                outputs = await self._one_attempt(node, task, tctx, deadline_at)
            except asyncio.CancelledError:
                node.abort_reason = _inherited_abort_reason(node)
                self._cancel_children(node, node.abort_reason)
                self._finish(node, _ABORTED, error=None)
                raise
            except Exception as e:
                self._cancel_children(node, f"parent action '{node.name}' failed")
                past_deadline = deadline_at is not None and time.time() >= deadline_at
                if isinstance(e, NonRecoverableError) or attempt >= retries.count or past_deadline:
                    phase = _TIMED_OUT if isinstance(e, TaskTimeoutError) else _FAILED
                    self._finish(node, phase, error=e)
                    raise
                attempt += 1
                node.transition(_QUEUED)
                self.recorder.action_changed(node)
                delay = retries.delay(attempt)
                if delay:
                    await asyncio.sleep(delay)
                continue
            self._cancel_children(node, f"parent action '{node.name}' returned before it")
            node.outputs = outputs
            self._finish(node, _SUCCEEDED, error=None)
            return decode_outputs(task, outputs)

    async def _one_attempt(
        self, node: ActionNode, task: TaskTemplate, tctx: TaskContext, deadline_at: float | None
    ) -> bytes:
        if task.is_async:
            executor = None
        else:
            if self._threads is None:
                self._threads = ThreadPoolExecutor(SYNC_WORKER_THREADS, thread_name_prefix="flyte-sync")
            executor = self._threads
        runtime = task.timeout.max_runtime_seconds if task.timeout else None
        remaining = None if deadline_at is None else deadline_at - time.time()
        if runtime is None and remaining is None:
            return await execute(task, node.inputs, tctx, self, node, executor)
        by_deadline = remaining is not None and (runtime is None or remaining < runtime)
        limit = max(0.0, remaining) if by_deadline else runtime  # type: ignore[type-var]
        attempt = asyncio.ensure_future(execute(task, node.inputs, tctx, self, node, executor))
        try:
            done, _ = await asyncio.wait({attempt}, timeout=limit)
        except asyncio.CancelledError:
            attempt.cancel()
            raise
        if done:
            return attempt.result()
        attempt.cancel()
        try:
            await attempt
        except BaseException:  # the attempt's own cancellation or a last-moment failure
            pass
        where = f"Task '{task.name}' (action '{node.name}')"
        if by_deadline:
            assert task.timeout is not None
            raise DeadlineExceededError(
                f"{where} did not finish within its deadline of {task.timeout.deadline_seconds:g}s "
                f"(attempt {tctx.attempt_number + 1}) and was cancelled"
            )
        raise MaxRuntimeExceededError(
            f"{where} exceeded its max_runtime of {runtime:g}s on attempt {tctx.attempt_number + 1} "
            "and was cancelled"
        )

    def _finish(self, node: ActionNode, phase: ActionPhase, error: BaseException | None) -> None:
        node.error = error  # before the phase: a store snapshot never sees a phase without its error
        node.ended_at = time.time()
        node.handle = None
        node.transition(phase)
        self.recorder.action_changed(node)

    def _cancel_children(self, node: ActionNode, reason: str) -> None:
        """A parent is a nursery: children still running when it ends are cancelled."""
        current = asyncio.current_task()
        for child in node.children:
            if not child.phase.is_terminal and child.handle is not None and child.handle is not current:
                child.abort_reason = reason
                child.handle.cancel(reason)


def _inherited_abort_reason(node: ActionNode) -> str:
    """Why ``node`` was cancelled: its own reason, or the nearest ancestor's (a run abort sets the
    root's; a failing parent sets its children's)."""
    current: ActionNode | None = node
    while current is not None:
        if current.abort_reason:
            return current.abort_reason
        current = current.parent
    return "cancelled"
