"""The time triggers read: the wall clock, a faster one for demos and tests, or a hand-moved one.

Trigger time is epoch seconds. A :class:`ScaledClock` runs ``scale`` times faster than the wall
clock from an ``anchor`` (trigger time and wall time agree at the anchor). The server keeps the
anchor in ``server_clock`` so that trigger time goes on from where it was after a restart: time
the server was down counts too (scaled), which is what makes a missed tick visible after a restart.
"""

from __future__ import annotations

import time
from typing import Any, Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Trigger time, in epoch seconds."""
        ...

    def real_seconds(self, trigger_seconds: float) -> float:
        """How long ``trigger_seconds`` of trigger time take on the wall clock."""
        ...


class SystemClock:
    """Trigger time is wall time."""

    def now(self) -> float:
        return time.time()

    def real_seconds(self, trigger_seconds: float) -> float:
        return trigger_seconds


class ScaledClock:
    """Trigger time runs ``scale`` times faster than wall time from ``anchor`` on."""

    def __init__(self, scale: float, anchor: float | None = None):
        if not scale > 0:
            raise ValueError(f"trigger time scale must be above 0, got {scale!r}")
        self.scale = float(scale)
        self.anchor = time.time() if anchor is None else float(anchor)

    def now(self) -> float:
        return self.anchor + (time.time() - self.anchor) * self.scale

    def real_seconds(self, trigger_seconds: float) -> float:
        return trigger_seconds / self.scale


class FakeClock:
    """A clock that moves only when told to (tests). A trigger service on it runs no background
    passes: the test calls ``tick()`` itself, so it decides exactly when ticks are looked at."""

    manual = True

    def __init__(self, start: float = 1_800_000_000.0):
        self.t = float(start)

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds

    def real_seconds(self, trigger_seconds: float) -> float:
        return 0.0


def server_clock(store: Any, scale: float) -> Clock:
    """The server's trigger clock: wall time at scale 1, else a :class:`ScaledClock` whose anchor
    is kept in the database (a new anchor, now, when the scale changed since the last start)."""
    if scale == 1:
        return SystemClock()
    rows = store.execute_read("SELECT scale, anchor FROM server_clock WHERE name = 'triggers'")
    if rows and float(rows[0][0]) == float(scale):
        return ScaledClock(scale, float(rows[0][1]))
    clock = ScaledClock(scale)

    def save(conn: Any) -> None:
        conn.execute("DELETE FROM server_clock WHERE name = 'triggers'")
        conn.execute(
            "INSERT INTO server_clock (name, scale, anchor) VALUES ('triggers', ?, ?)",
            (clock.scale, clock.anchor),
        )

    store.execute_write(save)
    return clock
