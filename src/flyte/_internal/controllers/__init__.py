"""The Controller interface: how a running action hands a child call to the engine.

A controller is chosen once per run (local, remote, or a fake in tests); nothing else in the
SDK branches on the run mode. ``TaskTemplate.__call__`` routes every child call here.

Rules every controller keeps (a parent action is a nursery):

1. A child belongs to the action that called it and cannot outlive it: when an action ends,
   successfully or not, children still running are cancelled and recorded as aborted.
2. A child's failure reaches its parent as an exception raised at the call site, with the
   original type and message, so the parent can catch it and go on.
3. Retries, timeouts and caching are the controller's business; the parent sees only the
   final outcome of the child.
4. Aborting a run cancels every action in it; each ends as aborted, with the reason.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from flyte._context import Frame
    from flyte._internal.controllers._action import TraceEntry
    from flyte._task import TaskTemplate

T = TypeVar("T")


class Controller(Protocol):
    """Executes child actions on behalf of a running parent action."""

    async def submit(
        self, task: TaskTemplate, args: tuple[Any, ...], kwargs: dict[str, Any], parent: Frame
    ) -> Any:
        """Run ``task(*args, **kwargs)`` as a child action of ``parent`` and return its value."""
        ...

    def submit_sync(
        self, task: TaskTemplate, args: tuple[Any, ...], kwargs: dict[str, Any], parent: Frame
    ) -> Any:
        """The same, called from a sync task's worker thread: blocks that thread until done."""
        ...

    def run_blocking(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the controller's event loop from a sync task's thread and wait for it."""
        ...

    def record_trace(self, parent: Frame, entry: TraceEntry) -> None:
        """Record a finished ``@flyte.trace`` call made by the action of ``parent``."""
        ...

    async def stop(self) -> None:
        """Release what the controller holds (threads, processes, connections)."""
        ...
