"""Time bounds for an action: ``timeout=`` on a task accepts seconds, a timedelta or a Timeout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Union


def _seconds(value: float | timedelta | None, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        secs = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        secs = float(value)
    else:
        raise TypeError(f"Timeout {what}: expected seconds (int/float) or a timedelta, got {value!r}")
    if secs <= 0:
        raise ValueError(f"Timeout {what}: must be positive, got {value!r}")
    return secs


@dataclass(frozen=True)
class Timeout:
    """Bounds on how long an action may take.

    - ``max_runtime``: one attempt may run at most this long; it is then cancelled and fails
      with ``MaxRuntimeExceededError`` (retries apply).
    - ``max_queued_time``: the action may wait at most this long for a slot before it starts.
    - ``deadline``: all attempts together, from submission, must finish within this.
    """

    max_runtime: timedelta | int | float | None = None
    max_queued_time: timedelta | int | float | None = None
    deadline: timedelta | int | float | None = None

    def __post_init__(self) -> None:
        _seconds(self.max_runtime, "max_runtime")
        _seconds(self.max_queued_time, "max_queued_time")
        _seconds(self.deadline, "deadline")

    @property
    def max_runtime_seconds(self) -> float | None:
        return _seconds(self.max_runtime, "max_runtime")

    @property
    def max_queued_seconds(self) -> float | None:
        return _seconds(self.max_queued_time, "max_queued_time")

    @property
    def deadline_seconds(self) -> float | None:
        return _seconds(self.deadline, "deadline")


TimeoutType = Union[Timeout, int, float, timedelta]


def timeout_from(value: TimeoutType | None) -> Timeout | None:
    """Normalize a task's ``timeout=`` argument; 0 or None means no bound."""
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0):
        return None
    if isinstance(value, Timeout):
        return value
    if isinstance(value, (int, float, timedelta)) and not isinstance(value, bool):
        return Timeout(max_runtime=value)
    raise TypeError(f"timeout: expected seconds, a timedelta or flyte.Timeout, got {value!r}")
