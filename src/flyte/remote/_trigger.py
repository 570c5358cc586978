"""``flyte.remote.Trigger``: the triggers of deployed tasks on the control plane."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flyte._internal.controllers._wire import q
from flyte._syncify import blocking_classmethod
from flyte.remote._task import _client


class Trigger:
    """One trigger of a deployed task, as the server keeps it (active or not, its ticks)."""

    def __init__(self, data: dict[str, Any]):
        self.data = data

    name = property(lambda self: self.data["name"])
    task_name = property(lambda self: self.data["task_name"])
    task_version = property(lambda self: self.data["task_version"])
    active = property(lambda self: bool(self.data["active"]))
    automation = property(lambda self: dict(self.data["automation"]))
    last_scheduled = property(lambda self: self.data.get("last_scheduled"))
    next_scheduled = property(lambda self: self.data.get("next_scheduled"))

    @staticmethod
    def _path(name: str, task_name: str) -> str:
        return f"/api/v1/triggers/{q(task_name)}/{q(name)}"

    @blocking_classmethod
    def get(cls: type[Trigger], name: str, task_name: str) -> Trigger:
        return cls(_client().call("GET", cls._path(name, task_name)))

    @blocking_classmethod
    def listall(cls: type[Trigger], task_name: str | None = None, limit: int = 100) -> Iterator[Trigger]:
        params = {"task": task_name} if task_name else None
        for data in (_client().call("GET", "/api/v1/triggers", params=params) or [])[:limit]:
            yield cls(data)

    @blocking_classmethod
    def update(cls: type[Trigger], name: str, task_name: str, active: bool) -> Trigger:
        """Activate or deactivate the trigger (activating starts its schedule again from now)."""
        return cls(_client().call("PATCH", cls._path(name, task_name), json={"active": active}))

    @blocking_classmethod
    def delete(cls: type[Trigger], name: str, task_name: str) -> None:
        """Delete the trigger: it fires no more (until a deploy declares it again)."""
        _client().call("DELETE", cls._path(name, task_name))

    def fires(self) -> list[dict[str, Any]]:
        """The ticks it fired: scheduled time and the run each started, oldest first."""
        return list(_client().call("GET", f"{self._path(self.name, self.task_name)}/fires") or [])

    def __repr__(self) -> str:
        return f"Trigger(name={self.name!r}, task={self.task_name!r}, active={self.active})"
