"""How often a failed action is tried again, and how long to wait in between."""

from __future__ import annotations

import math
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
    """Exponential backoff between attempts: retry ``n`` (0 for the first retry) waits
    ``min(cap, base * factor ** n)``.

    As in the reference SDK, ``factor`` defaults to 1.0 (a constant ``base`` delay) and there is
    no cap unless one is given; a ``factor`` above 1 requires a ``cap``, so that delays never grow
    without bound. ``base`` and ``cap`` are seconds or ``timedelta``.
    """

    base: float | timedelta = 1.0
    factor: float = 1.0
    cap: float | timedelta | None = None

    def __post_init__(self) -> None:
        _as_seconds(self.base, "Backoff base")
        if self.cap is not None:
            _as_seconds(self.cap, "Backoff cap")
        number = isinstance(self.factor, (int, float)) and not isinstance(self.factor, bool)
        if not number or not math.isfinite(self.factor):
            raise ValueError(f"Backoff factor must be a finite number, got {self.factor!r}")
        if self.factor < 1:
            raise ValueError(f"Backoff factor must be >= 1, got {self.factor!r}")
        if self.factor > 1 and self.cap is None:
            raise ValueError(
                f"Backoff cap is required when factor > 1 (got factor={self.factor!r}), "
                "so that delays stay bounded"
            )

    def compute_delay(self, n: int) -> timedelta:
        """The delay before retry ``n`` (0-indexed: 0 is the first retry)."""
        if n < 0:
            raise ValueError(f"Backoff retry index must be >= 0, got {n!r}")
        return timedelta(seconds=self.delay(n + 1))

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry)."""
        from flyte._internal.core.policy import backoff_delay  # the one formula, also the server's

        cap = None if self.cap is None else _as_seconds(self.cap, "Backoff cap")
        return backoff_delay(_as_seconds(self.base, "Backoff base"), self.factor, cap, retry)


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
