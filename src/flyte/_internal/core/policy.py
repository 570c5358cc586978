"""The per-action policy: what the settings of a task decide about one action's life.

Everything here is a pure decision over plain values (numbers, names, exception classes): no
event loop, no store, no HTTP. The local controller calls it with a ``TaskTemplate``'s settings,
the server's scheduler with a ``TaskRef``'s; both then carry the decision out their own way
(an ``asyncio.sleep`` before the next attempt locally, a queue entry with ``not_before`` on the
server). The rules are numbered in :mod:`flyte._internal.core`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from flyte.models import ActionPhase

if TYPE_CHECKING:
    from flyte._task import TaskTemplate

_FAILED, _TIMED_OUT = ActionPhase.FAILED, ActionPhase.TIMED_OUT


def _no_delay(retry: int) -> float:
    return 0.0


def backoff_delay(base: float, factor: float, cap: float | None, retry: int) -> float:
    """Seconds before retry number ``retry`` (1 for the first): ``min(cap, base * factor**(retry-1))``.

    The one backoff formula (rule 5): ``flyte.Backoff``, the server's ``TaskRef.backoff`` and the
    notification sender all compute their delays with it.
    """
    delay = base * factor ** max(0, retry - 1)
    return max(0.0, delay if cap is None else min(cap, delay))


@dataclass(frozen=True, slots=True)
class ActionPolicy:
    """The settings of a task that govern its actions' lifecycle, transport-free."""

    task_name: str
    retries: int = 0
    """How many times a failed attempt may be retried (attempts = retries + 1)."""
    retry_delay: Callable[[int], float] = _no_delay
    """Seconds before retry number n (1 for the first)."""
    max_runtime: float | None = None
    """Seconds one attempt may run."""
    deadline: float | None = None
    """Seconds from the action's creation within which all its attempts must end."""
    max_queued: float | None = None
    """Seconds the action may wait (for a slot, resources, a worker) before its first attempt."""

    @classmethod
    def of_task(cls, task: TaskTemplate[Any, Any]) -> ActionPolicy:
        """The policy of a task defined in code (cached on the template while its settings stay)."""
        timeout = task.timeout
        cached = task.__dict__.get("_action_policy")
        if cached is not None and cached[0] is task.retries and cached[1] is timeout:
            return cached[2]
        policy = cls(
            task.name,
            retries=task.retries.count,
            retry_delay=task.retries.delay,
            max_runtime=timeout.max_runtime_seconds if timeout else None,
            deadline=timeout.deadline_seconds if timeout else None,
            max_queued=timeout.max_queued_seconds if timeout else None,
        )
        task.__dict__["_action_policy"] = (task.retries, timeout, policy)
        return policy

    def where(self, action: str) -> str:
        """How messages name an action of this task."""
        return f"Task '{self.task_name}' (action '{action}')"

    def deadline_at(self, created_at: float) -> float | None:
        return None if self.deadline is None else created_at + self.deadline

    # -- rule 4: admission -------------------------------------------------------------------------

    def queued_too_long(
        self, action: str, created_at: float, started: bool, now: float, what: str
    ) -> Overdue | None:
        """The error once the action waited past ``max_queued_time`` for ``what`` without starting."""
        if self.max_queued is None or started or now < created_at + self.max_queued:
            return None
        return self.queued_error(action, what)

    def queued_error(self, action: str, what: str) -> Overdue:
        """The ``MaxQueuedTimeExceededError`` of an action that waited too long for ``what``."""
        return Overdue(
            "MaxQueuedTimeExceededError",
            f"{self.where(action)} waited more than its max_queued_time of {self.max_queued:g}s for {what}",
        )

    # -- rule 6: time bounds -----------------------------------------------------------------------

    def past_deadline(self, action: str, created_at: float, now: float) -> Overdue | None:
        """The error once the action's ``deadline`` has passed."""
        if self.deadline is None or now < created_at + self.deadline:
            return None
        return Overdue(
            "DeadlineExceededError",
            f"{self.where(action)} did not finish within its deadline of {self.deadline:g}s "
            "and was cancelled",
        )

    def due_at(self, created_at: float, started: bool) -> float | None:
        """When the action becomes overdue (see ``overdue``) unless it ends first; None: never."""
        times = [] if self.deadline is None else [created_at + self.deadline]
        if self.max_queued is not None and not started:
            times.append(created_at + self.max_queued)
        return min(times, default=None)

    def overdue(self, action: str, created_at: float, started: bool, now: float, what: str) -> Overdue | None:
        """Why the action must end now for lack of time (deadline first), or None."""
        return self.past_deadline(action, created_at, now) or self.queued_too_long(
            action, created_at, started, now, what
        )

    def max_runtime_message(self, action: str, attempt: int) -> str:
        """The ``MaxRuntimeExceededError`` message of attempt number ``attempt`` (0 for the first)."""
        return (
            f"{self.where(action)} exceeded its max_runtime of {self.max_runtime:g}s on attempt "
            f"{attempt + 1} and was cancelled"
        )

    def deadline_message(self, action: str, attempt: int, stopped: str = "was cancelled") -> str:
        """The ``DeadlineExceededError`` message when attempt ``attempt`` ran into the deadline."""
        return (
            f"{self.where(action)} did not finish within its deadline of {self.deadline:g}s "
            f"(attempt {attempt + 1}) and {stopped}"
        )

    # -- rule 5: attempts --------------------------------------------------------------------------

    def after_failure(
        self, failures: int, retryable: bool, timed_out: bool, created_at: float, now: float
    ) -> Retry | End:
        """What follows a failed attempt, ``failures`` being the failed attempts so far (this one
        included): another attempt after a delay, or the end of the action in a phase."""
        in_time = self.deadline is None or now < created_at + self.deadline
        if retryable and failures <= self.retries and in_time:
            return Retry(self.retry_delay(failures))
        return End(_TIMED_OUT if timed_out else _FAILED)


class Overdue(NamedTuple):
    """An action out of time: the error type it ends with, and the message."""

    error_type: str
    message: str


class Retry(NamedTuple):
    """Start another attempt after ``delay`` seconds."""

    delay: float


class End(NamedTuple):
    """The action ends, in ``phase``, with the failed attempt's error."""

    phase: ActionPhase


def is_retryable(error: BaseException) -> bool:
    """Whether another attempt could help (rule 5): not after ``NonRecoverableError`` (the task
    said so) nor ``SecretNotFoundError`` (the next attempt would miss the same secret)."""
    from flyte.errors import NonRecoverableError, SecretNotFoundError

    return not isinstance(error, (NonRecoverableError, SecretNotFoundError))


def is_timeout(error: BaseException) -> bool:
    """Whether ``error`` ends an action as ``timed_out`` rather than ``failed``."""
    from flyte.errors import TaskTimeoutError

    return isinstance(error, TaskTimeoutError)


# -- rule 7: children end with their parent -----------------------------------------------------------


def children_reason(parent: str, outcome: ActionPhase) -> str:
    """Why the unfinished children of ``parent`` end aborted when it ends in ``outcome``."""
    if outcome is ActionPhase.SUCCEEDED:
        return f"parent action '{parent}' returned before it"
    if outcome is ActionPhase.ABORTED:
        return f"parent action '{parent}' was aborted before it"
    return f"parent action '{parent}' failed"
