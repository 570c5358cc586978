"""When a trigger's ticks fall: ``Cron`` (read in its time zone) and ``FixedRate`` arithmetic.

``next_tick(automation, after)`` is the first tick strictly after ``after``; ``latest_tick(automation,
base, now)`` the last tick in ``(base, now]``, which is what a scheduler that fell behind fires
(once) instead of every tick it missed.
"""

from __future__ import annotations

import math
import zoneinfo
from datetime import datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flyte.server.triggers.models import AutomationSpec


def check_timezone(name: str) -> None:
    if name.upper() == "UTC":
        return
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as 'UTC' or 'Europe/London'"
        ) from None


def _zone(name: str) -> zoneinfo.ZoneInfo | timezone:
    return timezone.utc if name.upper() == "UTC" else zoneinfo.ZoneInfo(name)


def _fixed(a: AutomationSpec, anchor: float) -> tuple[float, float]:
    assert a.interval_minutes is not None
    return (
        a.start_time if a.start_time is not None else anchor + a.interval_minutes * 60.0
    ), a.interval_minutes * 60.0


def next_tick(a: AutomationSpec, after: float, anchor: float) -> float:
    """The first tick strictly after ``after``; ``anchor`` is when the trigger was activated (a
    ``FixedRate`` without ``start_time`` ticks one interval after it, then every interval)."""
    if a.kind == "fixed_rate":
        first, step = _fixed(a, anchor)
        if after < first:
            return first
        return first + (math.floor((after - first) / step) + 1) * step
    from croniter import croniter

    assert a.expression is not None
    start = datetime.fromtimestamp(after, _zone(a.timezone))
    return float(croniter(a.expression, start).get_next(float))


def latest_tick(a: AutomationSpec, base: float, now: float, anchor: float) -> float | None:
    """The last tick in ``(base, now]``, or None when none is due yet."""
    if next_tick(a, base, anchor) > now:
        return None
    if a.kind == "fixed_rate":
        first, step = _fixed(a, anchor)
        return first + math.floor((now - first) / step) * step
    from croniter import croniter

    assert a.expression is not None
    latest = float(croniter(a.expression, datetime.fromtimestamp(now, _zone(a.timezone))).get_prev(float))
    following = next_tick(a, latest, anchor)
    if following <= now:  # ``now`` is itself a tick (get_prev looks strictly before it)
        latest = following
    return latest if latest > base else None
