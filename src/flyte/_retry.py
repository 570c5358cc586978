"""How often a failed action is tried again, and how long to wait in between."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Union


def _as_seconds(value: float | timedelta, what: str) -> float:
    secs = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if secs < 0:
        raise ValueError(f"{what} must not be negative, got {value!r}")
    return secs


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff between attempts: ``min(cap, base * factor ** (attempt - 1))`` seconds."""

    base: float | timedelta = 1.0
    factor: float = 2.0
    cap: float | timedelta = 300.0

    def __post_init__(self) -> None:
        _as_seconds(self.base, "Backoff base")
        _as_seconds(self.cap, "Backoff cap")
        if self.factor < 1:
            raise ValueError(f"Backoff factor must be >= 1, got {self.factor!r}")

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry)."""
        base = _as_seconds(self.base, "Backoff base")
        cap = _as_seconds(self.cap, "Backoff cap")
        return min(cap, base * self.factor ** max(0, retry - 1))


@dataclass(frozen=True)
class RetryStrategy:
    """Retry a failed action up to ``count`` more times.

    ``backoff`` is a fixed delay (seconds or timedelta) or a :class:`Backoff`; ``None`` retries at once.
    """

    count: int
    backoff: Backoff | float | timedelta | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.count, int) or isinstance(self.count, bool) or self.count < 0:
            raise ValueError(f"RetryStrategy count must be a non-negative int, got {self.count!r}")
        if self.backoff is not None and not isinstance(self.backoff, Backoff):
            _as_seconds(self.backoff, "RetryStrategy backoff")

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry)."""
        if self.backoff is None:
            return 0.0
        if isinstance(self.backoff, Backoff):
            return self.backoff.delay(retry)
        return _as_seconds(self.backoff, "RetryStrategy backoff")


RetryRequest = Union[int, RetryStrategy]

NO_RETRIES = RetryStrategy(count=0)


def retry_from(value: RetryRequest | None) -> RetryStrategy:
    """Normalize a task's ``retries=`` argument."""
    if value is None:
        return NO_RETRIES
    if isinstance(value, RetryStrategy):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return RetryStrategy(count=value) if value else NO_RETRIES
    raise TypeError(f"retries: expected an int or flyte.RetryStrategy, got {value!r}")
