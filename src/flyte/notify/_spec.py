"""Notifications on the wire: how a run's and a task's notifications travel to a control plane.

Each notification is a JSON object ``{"kind": <type name>, <its fields>}`` with phases as their
values (``"failed"``); :func:`from_wire` rebuilds (and so validates again) the frozen dataclasses.
The client puts a task's notifications in its ``TaskRef`` as ``notifications`` and the run's in
the root ``TaskRef`` as ``run_notifications`` (both kept by the server, which stores task refs
whole), so that the server sends them and a server restart does not forget them. A run started
by a trigger carries the trigger's notifications the same way.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from flyte.notify._notifiers import Email, NamedDelivery, NamedRule, Notification, Slack, Teams, Webhook

_KINDS: dict[str, type] = {
    cls.__name__: cls for cls in (Email, NamedDelivery, NamedRule, Slack, Teams, Webhook)
}


def to_wire(notifications: tuple[Notification | NamedRule, ...]) -> list[dict[str, Any]]:
    """JSON-ready objects for ``notifications``."""
    out = []
    for n in notifications:
        data: dict[str, Any] = {"kind": type(n).__name__}
        for f in dataclasses.fields(n):
            value = getattr(n, f.name)
            if f.name == "on_phase":
                value = [p.value for p in value]
            elif isinstance(value, tuple):
                value = list(value)
            data[f.name] = value
        out.append(data)
    return out


def from_wire(items: Any) -> tuple[Notification | NamedRule, ...]:
    """The notifications ``items`` describe; unknown kinds and invalid entries are skipped."""
    found: list[Notification | NamedRule] = []
    for item in items or ():
        if not isinstance(item, dict):
            continue
        cls = _KINDS.get(str(item.get("kind")))
        if cls is None:
            continue
        fields = {k: v for k, v in item.items() if k != "kind"}
        try:
            found.append(cls(**fields))
        except (TypeError, ValueError):
            continue
    return tuple(found)


def run_notifications_field(value: Any) -> dict[str, Any]:
    """``{"run_notifications": [...]}`` for a root ``TaskRef`` (empty when there are none).

    ``value`` is what a user gave (``with_runcontext(notifications=...)``, ``Trigger(notifications=...)``):
    one notification, several, or None. Whoever starts a run on the server (the client, a trigger
    firing) merges this into the run's task ref so that the server sends them when the run ends.
    """
    from flyte.notify._notifiers import normalize

    items = normalize(value, "notifications")
    return {"run_notifications": to_wire(items)} if items else {}
