"""What a notification says: the event it reports and the templates rendered from it.

Two template spellings are accepted, so messages written for either form of the reference work:
``{run.name}``-style placeholders and Go-style ``{{.Run.Name}}`` ones. A placeholder that names
nothing known is left as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from flyte.models import ActionPhase


@dataclass(frozen=True)
class PhaseEvent:
    """A run or an action that reached a terminal phase."""

    run_name: str
    action_name: str
    task_name: str
    phase: ActionPhase
    error: str = ""
    started_at: float | None = None
    ended_at: float | None = None
    url: str = ""
    project: str = ""
    domain: str = ""

    def variables(self) -> dict[str, str]:
        """Every template variable, by its ``{dotted.name}``."""
        duration = ""
        if self.started_at is not None and self.ended_at is not None:
            duration = f"{max(0.0, self.ended_at - self.started_at):.3f}s"
        stamp = datetime.fromtimestamp(self.ended_at, timezone.utc).isoformat() if self.ended_at else ""
        return {
            "task.name": self.task_name,
            "action.name": self.action_name,
            "run.name": self.run_name,
            "run.phase": self.phase.name,
            "run.error": self.error,
            "run.duration": duration,
            "run.timestamp": stamp,
            "run.url": self.url,
            "project": self.project,
            "domain": self.domain,
        }


_GO_NAMES = {
    "Run.Name": "run.name",
    "Run.Project": "project",
    "Run.Domain": "domain",
    "Run.URL": "run.url",
    "Run.Url": "run.url",
    "Run.Duration": "run.duration",
    "Run.Timestamp": "run.timestamp",
    "Phase": "run.phase",
    "Error": "run.error",
    "Task.Name": "task.name",
    "Action.Name": "action.name",
}
_PLACEHOLDER = re.compile(r"\{\{\s*\.([A-Za-z][A-Za-z.]*)\s*\}\}|\{([a-z][a-z_]*(?:\.[a-z_]+)?)\}")


def render(template: str, variables: dict[str, str]) -> str:
    """``template`` with every known placeholder replaced (in one pass: values are not re-read)."""

    def one(m: re.Match[str]) -> str:
        key = _GO_NAMES.get(m.group(1)) if m.group(1) else m.group(2)
        value = variables.get(key) if key is not None else None
        return m.group(0) if value is None else value

    return _PLACEHOLDER.sub(one, template)


def render_value(value: Any, variables: dict[str, str]) -> Any:
    """Render every string inside dicts, lists and tuples; other values are kept."""
    if isinstance(value, str):
        return render(value, variables)
    if isinstance(value, dict):
        return {k: render_value(v, variables) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [render_value(v, variables) for v in value]
    return value
