"""Launch plan schedules, and the flyte Trigger each one becomes."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

_ALIASES = {
    "@hourly": "0 * * * *",
    "hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


@dataclass
class CronSchedule:
    """``CronSchedule(schedule="*/5 * * * *", kickoff_time_input_arg="t")`` (``@daily`` & co. too)."""

    cron_expression: str | None = None
    schedule: str | None = None
    offset: str | None = None
    kickoff_time_input_arg: str | None = None

    def __post_init__(self) -> None:
        expression = self.schedule or self.cron_expression
        if not expression:
            raise ValueError("CronSchedule: give schedule='<minute hour day month weekday>'")
        self.schedule = expression

    def to_flyte(self) -> Any:
        import flyte

        return flyte.Cron(_ALIASES.get(str(self.schedule).strip(), str(self.schedule)))


@dataclass
class FixedRate:
    """``FixedRate(duration=timedelta(minutes=10), kickoff_time_input_arg="t")``."""

    duration: datetime.timedelta
    kickoff_time_input_arg: str | None = None

    def __post_init__(self) -> None:
        if self.duration < datetime.timedelta(minutes=1) or self.duration.total_seconds() % 60:
            raise ValueError(
                f"FixedRate: the duration must be a whole number of minutes, at least 1; got {self.duration}"
            )

    def to_flyte(self) -> Any:
        import flyte

        return flyte.FixedRate(int(self.duration.total_seconds() // 60))
