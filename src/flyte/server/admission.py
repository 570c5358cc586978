"""Resources admission on the control plane (rule 4 of the action core, for the process executor).

The process executor runs every attempt on the server's own host, so the scheduler hands out that
host's CPU, memory and GPUs as the local engine does (:class:`flyte._internal.controllers._slots.Slots`):
an action asking for more than is free waits (``waiting_for_resources``) until running actions
end, a request above the whole host is clamped to it with one warning, and a parent waiting on its
children lends them its CPU and memory. The Ray executor leaves placement to Ray (no admission here).

One difference from a local parent: a parent resumed on a worker cannot be made to wait for its
CPU and memory again, so it takes them back at once, even beyond what is free; new actions wait
until enough has ended.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flyte._internal.controllers._slots import Capacity, Grant, Request, Slots

Key = tuple[str, str]


def request_of(resources: Mapping[str, Any] | None) -> Request | None:
    """What an action asks for, from the ``resources`` of its task reference (None: nothing)."""
    if not resources:
        return None
    accelerator = resources.get("accelerator")
    count, family, model = int(resources.get("gpu") or 0), "GPU", None
    if isinstance(accelerator, Mapping):
        count = int(accelerator.get("quantity") or 1)
        family = str(accelerator.get("class") or "GPU")
        model = str(accelerator["device"]) if accelerator.get("device") else None
    cpus, memory = float(resources.get("cpu") or 0.0), int(resources.get("memory") or 0)
    return Request.asking(cpus, memory, count, family, model)


class HostAdmission:
    """The host's capacity, held by the actions the scheduler handed out (by action key)."""

    def __init__(self, capacity: Capacity | None = None):
        self.slots = Slots(capacity or Capacity.detect())
        self._grants: dict[Key, Grant] = {}

    def try_admit(self, key: Key, task_name: str, resources: Mapping[str, Any] | None) -> bool:
        """Take what the action asks for; False when it does not fit now (it waits queued)."""
        request = request_of(resources)
        if request is None:
            return True
        request = self.slots.admit(request, task_name)  # clamped to the host, warned once per task
        grant = self.slots.try_acquire(request)
        if grant is None:
            return False
        self._grants[key] = grant
        return True

    def release(self, key: Key) -> bool:
        """The action's attempt ended: give back what it held. True when something was freed."""
        grant = self._grants.pop(key, None)
        if grant is None:
            return False
        self.slots.release(grant)
        return True

    def park(self, key: Key) -> bool:
        """The action waits on its children: lend them its CPU and memory. True when it held some."""
        grant = self._grants.get(key)
        if grant is None or grant.parked:
            return False
        self.slots.park(grant)
        return True

    def unpark(self, key: Key) -> None:
        """Its children ended: it takes its CPU and memory back at once (see the module docstring)."""
        grant = self._grants.get(key)
        if grant is not None and grant.parked:
            self.slots.reclaim(grant)

    def describe(self) -> str:
        return self.slots.capacity.describe()
