"""Launch plan notifications (``Email``, ``Slack``, ``PagerDuty``) as flyte.notify objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_PHASES = {
    "SUCCEEDED": "SUCCEEDED",
    "FAILED": "FAILED",
    "TIMED_OUT": "TIMED_OUT",
    "ABORTED": "ABORTED",
}


@dataclass
class Notification:
    phases: list[Any] = field(default_factory=list)
    recipients_email: list[str] = field(default_factory=list)


@dataclass
class Email(Notification):
    """E-mail the recipients when the execution reaches one of ``phases``."""


@dataclass
class Slack(Notification):
    """flytekit's Slack notification goes to e-mail addresses of Slack channels."""


@dataclass
class PagerDuty(Notification):
    """flytekit's PagerDuty notification goes to e-mail addresses of PagerDuty services."""


def to_flyte(notifications: list[Notification]) -> tuple[Any, ...]:
    """One ``flyte.notify.Email`` per notification, for each phase it names."""
    import flyte.notify
    from flyte.models import ActionPhase

    out: list[Any] = []
    for n in notifications:
        for phase in n.phases:
            name = getattr(phase, "name", str(phase)).rsplit(".", 1)[-1].upper()
            try:
                target = ActionPhase[name]
            except KeyError:
                raise ValueError(f"notification phase {phase!r} is not a terminal phase") from None
            out.append(flyte.notify.Email(on_phase=target, recipients=tuple(n.recipients_email)))
    return tuple(out)


class WorkflowExecutionPhase:
    """The phases a notification can be sent on."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    ABORTED = "ABORTED"
