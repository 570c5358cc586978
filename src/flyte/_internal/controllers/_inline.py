"""Sync children run on their sync parent's thread.

A sync task that calls a sync task waits, on its own thread, for the child to end. Run through
the event loop, the call costs four thread hand-offs (to the loop, to a sync thread for the body,
back to the loop, back to the parent); run here it costs none. Only calls whose action needs
nothing the loop provides are run here (:func:`runs_inline`): no cache or replay lookup, no
admission (resources, concurrency limit), no time bounds of its own, no retries, no secrets or
environment, no worker process, no report or notifications. Everything else goes to the loop.

The action core's rules hold as on the loop, with one difference in who ends an action:

- The child ends itself (succeeded, failed) on this thread, under the controller's lock.
- When its parent is stopped (aborted, out of time), the parent's interruption stops this thread,
  the child's body included, and the parent's end aborts its unfinished children as usual
  (:func:`~flyte._internal.core.nursery.cancel_children` calls :meth:`InlineHandle.cancel`).
- Aborting the child alone (``abort_action``) interrupts its body (:meth:`InlineHandle.abort`);
  the child ends aborted and the parent's call raises ``ActionAbortedError``, which it may catch.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from flyte._internal.controllers._action import ActionNode
from flyte._internal.core import ActionPolicy, End, child_id, children_reason, is_retryable, is_timeout
from flyte._internal.core.attempt import run_attempt_here, runs_here
from flyte._internal.core.nursery import cancel_children
from flyte._internal.runtime.convert import decode_outputs, encode_inputs_spliced
from flyte._internal.runtime.sync_threads import Attempt, AttemptInterrupted, running_attempts
from flyte.errors import ActionAbortedError
from flyte.models import ActionPhase

if TYPE_CHECKING:
    from flyte._context import Frame
    from flyte._internal.controllers.local import LocalController
    from flyte._task import TaskTemplate

_RUNNING, _SUCCEEDED = ActionPhase.RUNNING, ActionPhase.SUCCEEDED
_FAILED, _ABORTED = ActionPhase.FAILED, ActionPhase.ABORTED


def runs_inline(controller: LocalController, task: TaskTemplate[Any, Any], parent: Frame) -> bool:
    """Whether a call of ``task`` from ``parent``'s code on this thread runs here."""
    if task.is_async or task.notifications or task.report or task.secrets or task.env_vars:
        return False
    if task.resources is not None or controller.replay is not None or controller._concurrency is not None:
        return False
    if controller.cache is not None and task.cache.is_enabled() and not controller.config.disable_run_cache:
        return False
    if ActionPolicy.of_task(task).retries or parent.action in controller._grants:
        return False
    if not running_attempts():
        return False  # no sync attempt of the parent on this thread: a thread of the user's own
    return runs_here(task, controller._pools)


class InlineHandle:
    """``ActionNode.handle`` of a child running on its parent's thread (in place of an asyncio task)."""

    __slots__ = ("controller", "node", "attempt", "abort_requested")

    def __init__(self, controller: LocalController, node: ActionNode):
        self.controller = controller
        self.node = node
        self.attempt = Attempt()
        self.abort_requested = False

    def done(self) -> bool:
        return self.node.phase.is_terminal

    def cancel(self, reason: str | None = None) -> bool:
        """The parent ended (on the loop): end this child aborted, and its unfinished children.

        The parent's thread, where the child runs, was interrupted before (the parent's attempt
        is stopped first), so the child's own code takes no further step."""
        node = self.node
        with self.controller._inline_lock:
            if node.phase.is_terminal:
                return False
            node.abort_reason = node.abort_reason or reason or "cancelled"
            cancel_children(node, node.abort_reason)
            self.controller._finish(node, _ABORTED, error=None)
        return True

    def abort(self, reason: str) -> bool:
        """``abort_action`` of this child alone: interrupt its body; it ends aborted on its thread."""
        with self.controller._inline_lock:
            if self.node.phase.is_terminal:
                return False
            self.node.abort_reason = reason
            self.abort_requested = True
            self.attempt.interrupt()
        return True


def new_child(
    task: TaskTemplate[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any], parent: Frame
) -> tuple[ActionNode, Any]:
    """The action of one call of ``task`` by ``parent``'s action, and the bound arguments: inputs
    encoded and identity derived (rule 1), not yet among the parent's children."""
    bound = task.interface.bind(task.name, args, kwargs)
    data = encode_inputs_spliced(task, bound)
    parent_node: ActionNode = parent.action
    group = parent.tctx.group_data.name if parent.tctx.group_data else None
    action_id, blob = child_id(parent_node, task.name, data, group)
    node = ActionNode(action_id, task.name, parent_node, group, data)
    node.inputs_digest = blob
    return node, bound


def run_inline(
    controller: LocalController,
    task: TaskTemplate[Any, Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    parent: Frame,
) -> Any:
    """One call of the sync ``task`` from its sync parent's thread, run on that thread."""
    node, _ = new_child(task, args, kwargs, parent)
    parent_node: ActionNode = parent.action
    handle = node.handle = InlineHandle(controller, node)
    parent_node.children.append(node)
    controller.recorder.action_changed(node)
    node.attempts = 1
    node.started_at = time.time()
    node.transition(_RUNNING)
    controller.recorder.action_changed(node)
    tctx = controller._context_for(node, task, parent.tctx, 0)
    error: Exception | None = None
    try:
        outputs = run_attempt_here(task, node, tctx, controller)
    except AttemptInterrupted:
        if not handle.abort_requested or any(a.interrupted for a in running_attempts()):
            raise  # the parent is being stopped: its end (on the loop) aborts this child
        outputs = None
    except Exception as e:
        error, outputs = e, None
    if not handle.abort_requested:
        if error is not None:
            _end_children(controller, node, children_reason(node.name, _FAILED))
            step = ActionPolicy.of_task(task).after_failure(
                1, is_retryable(error), is_timeout(error), node.created_at, time.time()
            )
            phase = step.phase if isinstance(step, End) else _FAILED  # no retries here: always End
            if _end(controller, handle, phase, error, None):
                raise error
        else:
            _end_children(controller, node, children_reason(node.name, _SUCCEEDED))
            assert outputs is not None
            if _end(controller, handle, _SUCCEEDED, None, outputs):
                return decode_outputs(task, outputs)
    # aborted alone: it ends aborted, its parent gets an error it can catch
    _end_children(controller, node, node.abort_reason or "cancelled")
    with controller._inline_lock:
        if not node.phase.is_terminal:
            controller._finish(node, _ABORTED, error=None)
    raise ActionAbortedError(
        f"Action '{node.name}' of task '{task.name}' was aborted: {node.abort_reason}"
    ) from None


def _end(
    controller: LocalController,
    handle: InlineHandle,
    phase: ActionPhase,
    error: Exception | None,
    outputs: Any,
) -> bool:
    """End the child in ``phase`` unless it was aborted meanwhile (then False)."""
    with controller._inline_lock:
        if handle.abort_requested:
            return False
        if outputs is not None:
            handle.node.outputs = outputs
        controller._finish(handle.node, phase, error=error)
    return True


def _end_children(controller: LocalController, node: ActionNode, reason: str) -> None:
    """Rule 7 for a child ending on this thread: its unfinished children (left running by threads
    of the user's own) end with it, cancelled on the loop that runs them, before it ends."""
    if all(child.phase.is_terminal for child in node.children):
        return
    done = threading.Event()

    def cancel() -> None:
        try:
            cancel_children(node, reason)
        finally:
            done.set()

    controller._loop.call_soon_threadsafe(cancel)
    done.wait()
