"""An action attempt in flight on a worker, and the errors that can end it."""

from __future__ import annotations

import asyncio
import contextvars
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flyte._internal.controllers._action import TraceEntry
from flyte.errors import MaxRuntimeExceededError, OOMError, WorkerDiedError

if TYPE_CHECKING:
    from flyte._task import TaskTemplate
    from flyte.models import TaskContext

OnSubmit = Callable[["TaskTemplate[Any, Any]", tuple, dict], Awaitable[Any]]
"""Runs a child task an action calls: ``await on_submit(child, args, kwargs)`` -> its value."""
OnTrace = Callable[[TraceEntry], None]
OnReplay = Callable[[str, bytes], "TraceEntry | None"]
"""``(trace name, encoded inputs)`` -> the recorded result of the action's next trace call, or None."""
"""Records a finished ``@flyte.trace`` call of the action."""


@dataclass(frozen=True)
class CallSite:
    """Where in the worker a child task was called: the group and custom context in effect there."""

    group: str | None = None
    custom_context: dict[str, str] = field(default_factory=dict)


_call_site: contextvars.ContextVar[CallSite | None] = contextvars.ContextVar("flyte_call_site", default=None)


def call_site() -> CallSite | None:
    """Inside an ``on_submit`` callback: where the action called the child; None elsewhere."""
    return _call_site.get()


def set_call_site(site: CallSite) -> None:
    _call_site.set(site)


class Call:
    """One action attempt dispatched to a worker; its outcome arrives on ``future``."""

    __slots__ = (
        "id",
        "task",
        "tctx",
        "future",
        "logs",
        "subs",
        "parked",
        "on_submit",
        "on_trace",
        "on_replay",
        "timeout",
        "memory_limit",
        "baseline",
        "timer",
        "poller",
    )

    def __init__(
        self,
        call_id: int,
        task: TaskTemplate[Any, Any],
        tctx: TaskContext,
        future: asyncio.Future[bytes],
        timeout: float | None,
        memory_limit: int | None,
    ):
        self.id = call_id
        self.task = task
        self.tctx = tctx
        self.future = future
        self.logs: list[tuple[str, str]] = []
        self.subs: dict[int, asyncio.Task[None]] = {}
        """Child calls being served for this action, by the worker's id for them."""
        self.parked = False
        self.on_submit: OnSubmit | None = None
        self.on_trace: OnTrace | None = None
        self.on_replay: OnReplay | None = None
        self.timeout = timeout
        self.memory_limit = memory_limit
        self.baseline = 0
        """The worker's resident memory when the action started; the limit applies above it."""
        self.timer: asyncio.TimerHandle | None = None
        """Fires at the timeout."""
        self.poller: asyncio.TimerHandle | None = None
        """The next memory check."""

    def describe(self) -> str:
        return f"Task '{self.task.name}' (action '{self.tctx.action.name}')"

    def timed_out(self, pid: int) -> MaxRuntimeExceededError:
        return MaxRuntimeExceededError(
            f"{self.describe()} exceeded its max_runtime of {self.timeout:g}s on attempt "
            f"{self.tctx.attempt_number + 1}; its worker process {pid} was killed"
        )

    def _limit(self) -> str:
        if not self.memory_limit:
            return "the memory available"
        return f"its memory limit of {self.memory_limit / 2**20:.0f} MiB"

    def killed_for_memory(self, pid: int) -> OOMError:
        return OOMError(
            "OOMError", f"{self.describe()} used more than {self._limit()}; worker {pid} was killed"
        )

    def out_of_memory(self, detail: str) -> OOMError:
        text = f"{self.describe()} ran out of memory ({self._limit()})"
        return OOMError("OOMError", f"{text}: {detail}" if detail else text)


def exit_text(rc: int) -> str:
    """How a process ended, for people: an exit code or the signal that killed it."""
    if rc < 0:
        try:
            return f"was killed by signal {signal.Signals(-rc).name}"
        except ValueError:
            return f"was killed by signal {-rc}"
    return f"exited with code {rc}"


def died(who: str, pid: int, rc: int, *, starting: bool, stderr_tail: str) -> WorkerDiedError:
    if starting:
        text = f"Worker process {pid} {exit_text(rc)} while starting"
    else:
        text = f"{who}: worker process {pid} {exit_text(rc)} before reporting a result"
    if stderr_tail:
        text += f"\nLast stderr lines of the worker:\n{stderr_tail}"
    return WorkerDiedError(text, f"pid {pid}")
