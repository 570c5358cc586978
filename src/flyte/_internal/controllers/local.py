"""LocalController: executes a run in this process.

Async tasks run as asyncio tasks on the run's event loop; sync tasks run on a pool of worker
threads, and tasks that need it in worker processes. Every action goes through the steps of the
action core (:mod:`flyte._internal.core`, whose numbered rules this module carries out in memory):
bind and encode inputs -> identity -> replay -> cache -> admission -> attempts (time bounds,
retries) -> record -> children ended with their parent. The server's scheduler carries out the
same rules on durable state.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from flyte._context import Frame
from flyte._internal.controllers._action import ActionNode, NullRecorder, RunRecorder, TraceEntry
from flyte._internal.controllers._inline import InlineHandle, new_child, run_inline, runs_inline
from flyte._internal.core import ActionPolicy, Retry, children_reason, is_retryable, is_timeout
from flyte._internal.core.attempt import AttemptPools, run_attempt, secrets_env
from flyte._internal.core.nursery import cancel_children
from flyte._internal.runtime.convert import decode_outputs, encode_inputs_spliced
from flyte.errors import ActionAbortedError, MaxQueuedTimeExceededError, user_error_of
from flyte.models import ActionID, ActionPhase, GroupData, RawDataPath, TaskContext

if TYPE_CHECKING:
    from flyte._internal.controllers._slots import Grant, Request, Slots
    from flyte._internal.run_config import RunConfig
    from flyte._internal.store import Replay, TaskCache
    from flyte._task import TaskTemplate

T = TypeVar("T")

# Enum member access goes through a descriptor; these run several times per action.
_QUEUED, _RUNNING, _SUCCEEDED = ActionPhase.QUEUED, ActionPhase.RUNNING, ActionPhase.SUCCEEDED
_FAILED, _ABORTED, _TIMED_OUT = ActionPhase.FAILED, ActionPhase.ABORTED, ActionPhase.TIMED_OUT
_WAITING = ActionPhase.WAITING_FOR_RESOURCES

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
        self._pools = AttemptPools(SYNC_WORKER_THREADS, isolate_all=config.isolate)
        self._concurrency = (
            asyncio.Semaphore(config.max_action_concurrency) if config.max_action_concurrency else None
        )
        self._waiting: dict[ActionNode, int] = {}
        self._abort_targets: set[ActionNode] = set()
        """Actions aborted by name (``flyte abort action``): their parents get ActionAbortedError."""
        self._slots: Slots | None = None
        self._grants: dict[ActionNode, Grant] = {}
        self._inline_lock = threading.RLock()
        """Held while a child run on its parent's thread (``_inline``) ends or is aborted."""

    # -- the Controller interface -------------------------------------------------------------

    async def submit(
        self, task: TaskTemplate, args: tuple[Any, ...], kwargs: dict[str, Any], parent: Frame
    ) -> Any:
        node, bound = new_child(task, args, kwargs, parent)
        parent_node: ActionNode = parent.action
        parent_node.children.append(node)
        self.recorder.action_changed(node)
        try:
            if self._concurrency is None and parent_node not in self._grants:
                return await self._run_action(node, task, bound, parent.tctx)
            self._park(parent_node)
            try:
                return await self._run_action(node, task, bound, parent.tctx)
            finally:
                await self._unpark(parent_node)
        except Exception as e:  # the parent sees the reference's RuntimeUserError, also as e's class
            raise user_error_of(e) from e.__cause__

    def submit_sync(
        self, task: TaskTemplate, args: tuple[Any, ...], kwargs: dict[str, Any], parent: Frame
    ) -> Any:
        if runs_inline(self, task, parent):  # a sync child of a sync parent: on the parent's thread
            try:
                return run_inline(self, task, args, kwargs, parent)
            except Exception as e:  # as from submit: the reference's RuntimeUserError, also as e's class
                raise user_error_of(e) from e.__cause__
        return self.run_blocking(self.submit(task, args, kwargs, parent))

    def run_blocking(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def submit_blocking_from_loop(
        self, task: TaskTemplate, args: tuple[Any, ...], kwargs: dict[str, Any], parent: Frame
    ) -> Any:
        """Run a child action to completion from code that holds the run's event loop.

        That loop cannot progress while its caller waits, so the child runs on a private loop in
        a helper thread, through a view of this controller bound to that loop (so the child's own
        blocking calls go to the private loop). The services (recorder, cache, thread pool) are
        shared.
        """
        import contextvars
        import copy

        outcome: dict[str, Any] = {}
        context = contextvars.copy_context()

        async def child() -> Any:
            view = copy.copy(self)
            view._loop = asyncio.get_running_loop()
            view._concurrency = None  # a semaphore belongs to the run's loop; the caller holds a slot
            return await view.submit(task, args, kwargs, parent)

        def run() -> None:
            try:
                outcome["value"] = context.run(asyncio.run, child())
            except BaseException as e:  # handed to the waiting thread below
                outcome["error"] = e

        helper = threading.Thread(target=run, name=f"flyte-blocking-{task.short_name}", daemon=True)
        helper.start()
        helper.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

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
        await self._pools.aclose()

    def abort(self, reason: str) -> None:
        """Cancel the whole run; every unfinished action ends as aborted with ``reason``."""
        root = self.root
        if root is not None and root.handle is not None and not root.phase.is_terminal:
            root.abort_reason = reason
            root.handle.cancel(reason)

    def abort_action(self, name: str, reason: str) -> bool:
        """Abort one action (and everything under it); its parent's call raises ActionAbortedError,
        which the parent may catch. Aborting ``a0`` aborts the run. False if it is not running."""
        if name == "a0":
            self.abort(reason)
            return self.root is not None
        node = self._find(name)
        if node is None or node.phase.is_terminal or node.handle is None:
            return False
        if isinstance(node.handle, InlineHandle):  # runs on its parent's thread: interrupt it there
            return node.handle.abort(reason)
        node.abort_reason = reason
        self._abort_targets.add(node)
        # Runs on the loop, so every task is parked at an await: a child awaited inline shares its
        # parent's asyncio task, and the cancellation lands inside the child's frames, where
        # ``_run_action`` turns it back into an error for the parent.
        node.handle.cancel(reason)
        return True

    def _find(self, name: str) -> ActionNode | None:
        pending = [self.root] if self.root is not None else []
        while pending:
            node = pending.pop()
            if node.name == name:
                return node
            pending.extend(node.children)
        return None

    # -- the root action --------------------------------------------------------------------------

    async def run_root(self, task: TaskTemplate, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Execute ``task`` as the root action ``a0`` of this run and return its value."""
        bound = task.interface.bind(task.name, args, kwargs)
        data = encode_inputs_spliced(task, bound)
        config = self.config
        root_id = ActionID(name="a0", run_name=config.name, project=config.project, domain=config.domain)
        node = ActionNode(root_id, task.name, None, None, data)
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
        if task.notifications:  # flyte.notify: sent once this action ends
            from flyte.notify._local import notify_action

            return await notify_action(self, node, task, bound, parent)
        node.handle = asyncio.current_task()
        try:
            if self.replay is not None:
                recorded = self.replay.outputs_for(node.name, task.name, node.inputs)
                if recorded is not None:
                    return self._succeed(node, task, recorded, "recovered")
            if self.cache is None or not task.cache.is_enabled() or self.config.disable_run_cache:
                return await self._limited(node, task, parent)
            key = self.cache.key(task, node.inputs)
            if not task.cache.serialize:
                return await self._cached(node, task, parent, key)
            async with self.cache.serialized(key):
                return await self._cached(node, task, parent, key)
        except asyncio.CancelledError:
            if node not in self._abort_targets:
                raise
            self._aborted_alone(node, task)

    def _aborted_alone(self, node: ActionNode, task: TaskTemplate) -> NoReturn:
        """This action alone was aborted (``abort_action``): the cancellation stops here and the
        parent, whose asyncio task may be the same one, gets an error it can catch instead."""
        self._abort_targets.discard(node)
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()
        if not node.phase.is_terminal:
            self._finish(node, _ABORTED, error=None)
        raise ActionAbortedError(
            f"Action '{node.name}' of task '{task.name}' was aborted: {node.abort_reason}"
        ) from None

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
        # Slots, secrets and worker processes are imported on first need: most runs use none of them.
        request = None
        if task.resources is not None:
            from flyte._internal.controllers._slots import Request

            request = Request.of(task.resources)
        if request is None:
            return await self._with_concurrency(node, task, parent)
        grant = await self._acquire_resources(node, task, request)
        self._grants[node] = grant
        try:
            return await self._with_concurrency(node, task, parent)
        finally:
            del self._grants[node]
            assert self._slots is not None
            self._slots.release(grant)

    async def _acquire_resources(self, node: ActionNode, task: TaskTemplate, request: Request) -> Grant:
        """Take the action's share of the node, waiting (``waiting_for_resources``) while it is full."""
        if self._slots is None:
            from flyte._internal.controllers._slots import Capacity, Slots

            self._slots = Slots(Capacity.detect())
        slots = self._slots
        try:
            request = slots.admit(request, task.name, strict=self.config.strict_resources)
        except Exception as e:
            self._finish(node, _FAILED, error=e)
            raise
        grant = slots.try_acquire(request)
        if grant is not None:
            return grant
        node.transition(_WAITING)
        self.recorder.action_changed(node)
        return await self._queued(
            node, task, slots.acquire(request), f"resources ({slots.capacity.describe()})"
        )

    async def _with_concurrency(self, node: ActionNode, task: TaskTemplate, parent: TaskContext) -> Any:
        if self._concurrency is None:
            return await self._attempts(node, task, parent)
        await self._acquire_slot(node, task)
        try:
            return await self._attempts(node, task, parent)
        finally:
            if self._waiting.pop(node, 0) == 0:
                self._concurrency.release()

    async def _acquire_slot(self, node: ActionNode, task: TaskTemplate) -> None:
        assert self._concurrency is not None
        limit = self.config.max_action_concurrency
        await self._queued(
            node, task, self._concurrency.acquire(), f"a slot (max_action_concurrency={limit})"
        )

    async def _queued(
        self, node: ActionNode, task: TaskTemplate, wait: Coroutine[Any, Any, T], what: str
    ) -> T:
        """Await ``wait`` (a slot, resources) for at most what is left of the task's ``max_queued_time``."""
        policy = ActionPolicy.of_task(task)
        if policy.max_queued is None:
            return await wait
        try:
            return await asyncio.wait_for(wait, max(0.0, node.created_at + policy.max_queued - time.time()))
        except asyncio.TimeoutError:
            error = MaxQueuedTimeExceededError(policy.queued_error(node.name, what).message)
            self._finish(node, _TIMED_OUT, error=error)
            raise error from None

    # A parent waiting on children gives its concurrency slot and its CPU/memory back, so that
    # limits count actions doing work and a chain of nested parents can never deadlock on them.
    def _park(self, parent: ActionNode) -> None:
        waiting = self._waiting.get(parent, 0)
        if waiting == 0 and parent.phase is _RUNNING:
            if self._concurrency is not None:
                self._concurrency.release()
            grant = self._grants.get(parent)
            if grant is not None and self._slots is not None:
                self._slots.park(grant)
        self._waiting[parent] = waiting + 1

    async def _unpark(self, parent: ActionNode) -> None:
        waiting = self._waiting.get(parent, 0) - 1
        if waiting > 0:
            self._waiting[parent] = waiting
            return
        self._waiting.pop(parent, None)
        if parent.phase is _RUNNING:
            grant = self._grants.get(parent)
            if grant is not None and self._slots is not None:
                await self._slots.unpark(grant)
            if self._concurrency is not None:
                await self._concurrency.acquire()

    async def _attempts(self, node: ActionNode, task: TaskTemplate, parent: TaskContext) -> Any:
        if not task.secrets:  # most tasks: no files to keep, no directory to name
            return await self._attempt_loop(node, task, parent, self._action_env(node, task, {}))
        with ExitStack() as secrets:  # the secrets' files live as long as the action's attempts
            try:
                secret_vars = secrets.enter_context(secrets_env(task, Path(parent.run_base_dir) / node.name))
            except Exception as e:  # a missing secret: the task never starts, retrying cannot help
                self._finish(node, _FAILED, error=e)
                raise
            return await self._attempt_loop(node, task, parent, self._action_env(node, task, secret_vars))

    def _action_env(
        self, node: ActionNode, task: TaskTemplate, secret_vars: dict[str, str]
    ) -> dict[str, str]:
        """Environment variables for this action only: the task's (with the run's own ``env_vars``
        winning over them, as everywhere: see ``flyte._internal.overrides``), its secrets', its GPUs'.
        The run's variables are in this process's environment already, which workers inherit."""
        env = {**task.env_vars, **self.config.env_vars} if task.env_vars else {}
        env.update(secret_vars)
        grant = self._grants.get(node)
        if grant is not None and grant.gpus:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(grant.gpus)
        return env

    async def _attempt_loop(
        self, node: ActionNode, task: TaskTemplate, parent: TaskContext, env: dict[str, str]
    ) -> Any:
        policy = ActionPolicy.of_task(task)
        deadline_at = policy.deadline_at(node.created_at)
        log_lines = getattr(self.recorder, "log_lines", None)
        attempt = 0
        while True:
            node.attempts = attempt + 1
            if node.started_at is None:
                node.started_at = time.time()
            node.transition(_RUNNING)
            self.recorder.action_changed(node)
            tctx = self._context_for(node, task, parent, attempt)
            try:
                outputs = await run_attempt(
                    task, node, tctx, self, self._pools, env, deadline_at, log_lines, spliced=True
                )
            except asyncio.CancelledError:
                node.abort_reason = _inherited_abort_reason(node)
                cancel_children(node, node.abort_reason)
                self._finish(node, _ABORTED, error=None)
                raise
            except Exception as e:
                cancel_children(node, children_reason(node.name, _FAILED))
                step = policy.after_failure(
                    attempt + 1, is_retryable(e), is_timeout(e), node.created_at, time.time()
                )
                if not isinstance(step, Retry):
                    self._finish(node, step.phase, error=e)
                    raise
                attempt += 1
                node.transition(_QUEUED)
                self.recorder.action_changed(node)
                if step.delay:
                    await asyncio.sleep(step.delay)
                continue
            cancel_children(node, children_reason(node.name, _SUCCEEDED))
            node.outputs = outputs
            self._finish(node, _SUCCEEDED, error=None)
            return decode_outputs(task, outputs)

    def _finish(self, node: ActionNode, phase: ActionPhase, error: BaseException | None) -> None:
        node.error = error  # before the phase: a store snapshot never sees a phase without its error
        node.ended_at = time.time()
        node.handle = None
        node.transition(phase)
        self.recorder.action_changed(node)


def _inherited_abort_reason(node: ActionNode) -> str:
    """Why ``node`` was cancelled: its own reason, or the nearest ancestor's (a run abort sets the
    root's; a failing parent sets its children's)."""
    current: ActionNode | None = node
    while current is not None:
        if current.abort_reason:
            return current.abort_reason
        current = current.parent
    return "cancelled"
