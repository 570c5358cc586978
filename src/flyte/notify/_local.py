"""Notifications of local runs: when a run, or an action of a task that asks for it, ends.

Two hooks, each one call from the engine:

- :func:`notify_action` is called by the local controller for an action whose task has
  ``notifications``; the controller checks ``task.notifications`` first, so tasks without any cost
  one attribute read. Deliveries run in the background: a slow endpoint never delays the parent.
- :func:`notify_run_end` is called by ``run_local`` once the run is recorded: it sends the run's
  own notifications (``with_runcontext(notifications=...)``) and waits for the actions' ones, so
  that nothing is lost when the process exits right after ``flyte.run``.

A delivery failure is one line on stderr and never changes the run's outcome.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flyte.models import ActionPhase
from flyte.notify._render import PhaseEvent
from flyte.notify._sender import Delivery, deliver_all

if TYPE_CHECKING:
    from flyte._internal.controllers._action import ActionNode
    from flyte._internal.controllers.local import LocalController
    from flyte._internal.run_config import RunConfig
    from flyte._task import TaskTemplate
    from flyte.models import TaskContext

PENDING = "_flyte_notify_pending"
"""Attribute of a LocalController holding its in-flight action deliveries (set on first use)."""
SLOTS = "_flyte_notify_slots"
"""Attribute of a LocalController holding the semaphore that bounds its deliveries in flight."""
CONCURRENT = 8
"""Action deliveries in flight at once in one run; more wait their turn."""


async def _bounded(controller: LocalController, job: Any) -> list[Delivery]:
    slots: asyncio.Semaphore = controller.__dict__.setdefault(SLOTS, asyncio.Semaphore(CONCURRENT))
    async with slots:
        return await job


def _error_text(error: BaseException | None, fallback: str | None = None) -> str:
    if error is None:
        return fallback or ""
    message = str(error)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def _event(node: ActionNode, config: RunConfig, task_name: str) -> PhaseEvent:
    from flyte._initialize import get_init_config

    init = get_init_config()
    phase = node.phase if node.phase.is_terminal else ActionPhase.ABORTED
    fallback = node.abort_reason if phase is ActionPhase.ABORTED else None
    return PhaseEvent(
        run_name=config.name,
        action_name=node.name,
        task_name=task_name,
        phase=phase,
        error=_error_text(node.error, fallback),
        started_at=node.started_at or node.created_at,
        ended_at=node.ended_at,
        url=Path(config.run_base_dir).as_uri(),
        project=init.project or "",
        domain=init.domain or "",
    )


async def notify_action(
    controller: LocalController,
    node: ActionNode,
    task: TaskTemplate,
    bound: dict[str, Any],
    parent: TaskContext,
) -> Any:
    """Run the action as usual, then send ``task.notifications`` for the phase it ended in."""
    plain = dataclasses.replace(task, notifications=())  # the same task, without coming back here
    try:
        return await controller._run_action(node, plain, bound, parent)
    finally:
        event = _event(node, controller.config, task.name)
        if any(event.phase in getattr(n, "phases", ()) for n in task.notifications):
            pending: set[asyncio.Task[list[Delivery]]] = controller.__dict__.setdefault(PENDING, set())
            job = asyncio.ensure_future(_bounded(controller, deliver_all(task.notifications, event)))
            pending.add(job)
            job.add_done_callback(pending.discard)


async def notify_run_end(
    config: RunConfig, task: TaskTemplate, controller: LocalController
) -> list[Delivery]:
    """Send the run's notifications for the phase its root ended in; wait for the actions' ones."""
    deliveries: list[Delivery] = []
    root = controller.root
    if config.notifications and root is not None:
        deliveries += await deliver_all(config.notifications, _event(root, config, task.name))
    pending: set[asyncio.Task[list[Delivery]]] = controller.__dict__.get(PENDING) or set()
    while pending:
        jobs = list(pending)
        pending.difference_update(jobs)
        for result in await asyncio.gather(*jobs, return_exceptions=True):
            if isinstance(result, list):
                deliveries += result
    return deliveries
