"""``flyte.ReusePolicy``: keep warm worker processes around and run many actions in each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, Optional, Union

__all__ = ["ReusePolicy"]

_MIN_TTL_SECONDS = 30


def _as_ttl(value: object, what: str) -> timedelta:
    if isinstance(value, timedelta):
        ttl = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        ttl = timedelta(seconds=value)
    else:
        raise TypeError(f"ReusePolicy {what}: expected seconds (int) or a timedelta, got {value!r}")
    if ttl.total_seconds() < _MIN_TTL_SECONDS:
        raise ValueError(
            f"ReusePolicy {what}: {value!r} is too short; it must be at least {_MIN_TTL_SECONDS} seconds"
        )
    return ttl


@dataclass(frozen=True)
class ReusePolicy:
    """Reuse worker containers/processes across task invocations instead of starting one per action.

    Capacity is ``max_replicas * concurrency`` actions at once. After construction ``replicas`` is
    always a ``(min, max)`` tuple and the TTLs are ``timedelta`` objects.

    Args:
        replicas: a fixed number of replicas, or a ``(min, max)`` range to scale within. At least two
            are advisable so a parent action waiting on children does not hold the only replica.
        idle_ttl: shut the whole environment down after it has been idle this long
            (seconds or a timedelta, at least 30 seconds).
        concurrency: how many actions one replica runs at the same time (values above 1 are meant
            for async tasks).
        scaledown_ttl: how long a single idle replica is kept before it is removed while scaling down
            (seconds or a timedelta, at least 30 seconds).
        scope: ``"global"`` to share the environment across runs, ``"run"`` to give each run its own.
    """

    replicas: Union[int, tuple[int, int]] = 2
    idle_ttl: Union[int, timedelta] = 30
    concurrency: int = 1
    scaledown_ttl: Union[int, timedelta] = 30
    scope: Literal["global", "run"] = "global"

    def __post_init__(self) -> None:
        if self.scope not in ("global", "run"):
            raise ValueError(f"ReusePolicy scope: {self.scope!r} is not allowed; use 'global' or 'run'")
        replicas = self.replicas
        if isinstance(replicas, list):
            replicas = tuple(replicas)
        if isinstance(replicas, int) and not isinstance(replicas, bool):
            replicas = (replicas, replicas)
        if (
            not isinstance(replicas, tuple)
            or len(replicas) != 2
            or any(isinstance(r, bool) or not isinstance(r, int) for r in replicas)
        ):
            raise TypeError(
                f"ReusePolicy replicas: expected an int or a (min, max) pair of ints, got {self.replicas!r}"
            )
        low, high = replicas
        if low < 0 or high < 1:
            raise ValueError(
                f"ReusePolicy replicas: {self.replicas!r} is not allowed; the minimum must be 0 or more and "
                "the "
                "maximum at least 1"
            )
        if low > high:
            raise ValueError(
                f"ReusePolicy replicas: minimum {low} is more than maximum {high} in {self.replicas!r}"
            )
        object.__setattr__(self, "replicas", (low, high))
        if isinstance(self.concurrency, bool) or not isinstance(self.concurrency, int):
            raise TypeError(f"ReusePolicy concurrency: expected an int, got {self.concurrency!r}")
        if self.concurrency < 1:
            raise ValueError(
                f"ReusePolicy concurrency: {self.concurrency!r} is not allowed; it must be at least 1"
            )
        object.__setattr__(self, "idle_ttl", _as_ttl(self.idle_ttl, "idle_ttl"))
        object.__setattr__(self, "scaledown_ttl", _as_ttl(self.scaledown_ttl, "scaledown_ttl"))
        if high == 1 and self.concurrency == 1:
            import logging

            logging.getLogger("flyte").warning(
                "ReusePolicy with a single replica running one action at a time can starve: a parent action "
                "waiting on its children holds the only slot. Raise replicas or concurrency."
            )

    @property
    def min_replicas(self) -> int:
        """The smallest number of replicas kept."""
        return self.replicas[0]  # type: ignore[index]

    @property
    def max_replicas(self) -> int:
        """The largest number of replicas allowed."""
        return self.replicas[1]  # type: ignore[index]

    @property
    def capacity(self) -> int:
        """Engine helper (ours): the most actions the environment can run at once."""
        return self.max_replicas * self.concurrency

    def get_scaledown_ttl(self) -> Optional[timedelta]:
        """The per-replica scale-down delay as a timedelta."""
        return self.scaledown_ttl  # type: ignore[return-value]

    def get_idle_ttl(self) -> timedelta:
        """Engine helper (ours): the environment-wide idle timeout as a timedelta."""
        return self.idle_ttl  # type: ignore[return-value]
