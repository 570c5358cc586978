"""The local node: its capacity (CPUs, memory, GPUs) and the slots actions hold while they run.

An action that requests resources waits (``waiting_for_resources``) until they are free. A
request larger than the whole node (4 CPUs on 2, a TPU on a laptop) is clamped to the node, with
one warning line per task, so that code written for a cluster runs on a laptop as the reference
SDK runs it (which ignores resources locally); in strict mode (``flyte run --strict-resources``,
``with_runcontext(strict_resources=True)``, ``FLYTE_STRICT_RESOURCES=1``) it fails at once
instead. NVIDIA GPUs are given as device ids, which the action sees in ``CUDA_VISIBLE_DEVICES``;
other accelerators (TPU, Trainium, AMD, Gaudi) are never present on a local node.

Capacity defaults to this machine (all cores, physical memory, visible NVIDIA GPUs) and can be
set with ``FLYTE_LOCAL_CPUS``, ``FLYTE_LOCAL_MEMORY`` (a quantity such as ``8Gi``) and
``FLYTE_LOCAL_GPUS`` (a count, or a comma-separated list of device ids).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from flyte._resources import parse_cpu, parse_quantity
from flyte.errors import ResourceExhaustedError

if TYPE_CHECKING:
    from flyte._resources import Resources


def _gib(n: int) -> str:
    return f"{n / 1024**3:.2f} GiB"


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 1024**3


def _visible_gpus() -> tuple[str, ...]:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return tuple(d.strip() for d in visible.split(",") if d.strip() and d.strip() != "-1")
    nvidia = Path("/proc/driver/nvidia/gpus")
    if nvidia.is_dir():
        return tuple(str(i) for i in range(len(list(nvidia.iterdir()))))
    return ()


@dataclass(frozen=True)
class Capacity:
    cpus: float
    memory: int
    gpus: tuple[str, ...]

    @classmethod
    def detect(cls) -> Capacity:
        cpus_text = os.environ.get("FLYTE_LOCAL_CPUS")
        memory_text = os.environ.get("FLYTE_LOCAL_MEMORY")
        gpus_text = os.environ.get("FLYTE_LOCAL_GPUS")
        cpus = parse_cpu(cpus_text, "FLYTE_LOCAL_CPUS") if cpus_text else float(os.cpu_count() or 1)
        memory = parse_quantity(memory_text, "FLYTE_LOCAL_MEMORY") if memory_text else _physical_memory()
        if gpus_text is None:
            gpus = _visible_gpus()
        elif gpus_text.strip().isdigit():
            gpus = tuple(str(i) for i in range(int(gpus_text)))
        else:
            gpus = tuple(g.strip() for g in gpus_text.split(",") if g.strip())
        return cls(cpus, memory, gpus)

    def describe(self) -> str:
        return f"{self.cpus:g} CPUs, {self.memory / 1024**3:.1f} GiB memory, {len(self.gpus)} GPUs"


# How each accelerator family is named to users (never "GPUs" for a TPU).
_ACCELERATOR_NAMES = {
    "GPU": "GPU",
    "TPU": "TPU",
    "NEURON": "Trainium/Inferentia (Neuron)",
    "AMD_GPU": "AMD GPU",
    "HABANA_GAUDI": "Habana Gaudi",
}


@dataclass(frozen=True)
class Request:
    """What one action takes from the node while it runs. ``gpus`` counts NVIDIA GPUs, the only
    accelerators a local node hands out; ``accelerators`` any other family (``accelerator`` names
    it), which a local node never has."""

    cpus: float = 0.0
    memory: int = 0
    gpus: int = 0
    accelerators: int = 0
    accelerator: str = "GPU"

    @classmethod
    def of(cls, resources: Resources | None) -> Request | None:
        """What an action asks for (its requests, as a scheduler counts them), or None for nothing."""
        if resources is None:
            return None
        device = resources.get_device()
        return cls.asking(
            resources.cpu_request_cores() or 0.0,
            resources.memory_request_bytes() or 0,
            device.quantity if device is not None else 0,
            device.device_class if device is not None else "GPU",
            device.device if device is not None else None,
        )

    @classmethod
    def asking(
        cls, cpus: float, memory: int, devices: int, family: str = "GPU", model: str | None = None
    ) -> Request | None:
        """The request for ``devices`` accelerators of ``family`` (NVIDIA ``GPU`` ones counted as
        ``gpus``, any other kind as ``accelerators``) beside CPU and memory; None for nothing."""
        name = _ACCELERATOR_NAMES.get(family, family)
        request = cls(
            cpus=cpus,
            memory=memory,
            gpus=devices if family == "GPU" else 0,
            accelerators=0 if family == "GPU" else devices,
            accelerator=f"{name} {model}" if model else name,
        )
        return request if (request.cpus or request.memory or request.gpus or request.accelerators) else None

    def describe_accelerators(self, count: int | None = None) -> str:
        n = (self.gpus or self.accelerators) if count is None else count
        return f"{n} {self.accelerator}{'s' if n != 1 else ''}"


@dataclass
class Grant:
    request: Request
    gpus: tuple[str, ...]
    parked: bool = False


class Slots:
    """Hands out the node's capacity. A new request queues behind earlier waiters; whenever
    capacity frees up, waiters are served in order, each as soon as it fits."""

    def __init__(self, capacity: Capacity):
        self.capacity = capacity
        self._cpus = capacity.cpus
        self._memory = capacity.memory
        self._gpus = list(capacity.gpus)
        self._waiters: deque[tuple[Request, asyncio.Future[Grant]]] = deque()
        self._warned: set[str] = set()  # tasks already warned about a clamped request

    def admit(self, request: Request, task_name: str, strict: bool = False) -> Request:
        """The request an action is admitted with: itself when the node can ever hold it; else,
        in strict mode, a ``ResourceExhaustedError`` at once (no amount of waiting would help),
        otherwise the request clamped to the node, with one warning line per task."""
        cap = self.capacity
        excess: list[tuple[str, str]] = []  # (what was asked, what the node has)
        if request.cpus > cap.cpus:
            excess.append((f"{request.cpus:g} CPUs", f"{cap.cpus:g}"))
        if request.memory > cap.memory:
            excess.append((f"{_gib(request.memory)} memory", _gib(cap.memory)))
        if request.gpus > len(cap.gpus):
            excess.append((request.describe_accelerators(), str(len(cap.gpus))))
        if request.accelerators:
            excess.append((request.describe_accelerators(), "none"))
        if not excess:
            return request
        asked = ", ".join(what for what, _ in excess)
        if strict:
            raise ResourceExhaustedError(
                f"Task '{task_name}' requests {asked}, more than this local node has ({cap.describe()}). "
                "Lower the task's Resources, run without strict resources, or raise FLYTE_LOCAL_CPUS / "
                "FLYTE_LOCAL_MEMORY / FLYTE_LOCAL_GPUS if the machine really has more.",
            )
        if task_name not in self._warned:
            self._warned.add(task_name)
            reduced = ", ".join(f"{what} -> {has}" for what, has in excess)
            print(
                f"warning: task '{task_name}' asks for more than this machine has; running it with "
                f"{reduced} (strict resources refuse instead: flyte run --strict-resources)",
                file=sys.stderr,
            )
        return replace(
            request,
            cpus=min(request.cpus, cap.cpus),
            memory=min(request.memory, cap.memory),
            gpus=min(request.gpus, len(cap.gpus)),
            accelerators=0,
        )

    def _fits(self, request: Request) -> bool:
        return (
            request.cpus <= self._cpus + 1e-9
            and request.memory <= self._memory
            and request.gpus <= len(self._gpus)
        )

    def _take(self, request: Request) -> Grant:
        self._cpus -= request.cpus
        self._memory -= request.memory
        taken = tuple(self._gpus[: request.gpus])
        del self._gpus[: request.gpus]
        return Grant(request, taken)

    def try_acquire(self, request: Request) -> Grant | None:
        if not self._waiters and self._fits(request):
            return self._take(request)
        return None

    async def acquire(self, request: Request) -> Grant:
        grant = self.try_acquire(request)
        if grant is not None:
            return grant
        future: asyncio.Future[Grant] = asyncio.get_running_loop().create_future()
        entry = (request, future)
        self._waiters.append(entry)
        try:
            return await future
        except BaseException:
            if entry in self._waiters:
                self._waiters.remove(entry)
            elif future.done() and not future.cancelled():
                self.release(future.result())  # granted while we were being cancelled
            raise

    def release(self, grant: Grant) -> None:
        if not grant.parked:  # a parked grant already gave its CPU and memory back
            self._cpus += grant.request.cpus
            self._memory += grant.request.memory
        self._gpus.extend(grant.gpus)
        self._wake()

    def park(self, grant: Grant) -> None:
        """A parent waiting on its children lends them its CPU and memory (not its GPUs)."""
        if not grant.parked:
            grant.parked = True
            self._cpus += grant.request.cpus
            self._memory += grant.request.memory
            self._wake()

    async def unpark(self, grant: Grant) -> None:
        if not grant.parked:
            return
        cpu_and_memory = Request(grant.request.cpus, grant.request.memory, 0)
        taken = await self.acquire(cpu_and_memory)
        assert not taken.gpus
        grant.parked = False

    def reclaim(self, grant: Grant) -> None:
        """Take a parked grant's CPU and memory back at once, even beyond what is free (for a
        holder that cannot wait, the control plane's resumed parent); later requests wait until
        enough has been released."""
        if grant.parked:
            grant.parked = False
            self._cpus -= grant.request.cpus
            self._memory -= grant.request.memory

    def _wake(self) -> None:
        for entry in list(self._waiters):
            request, future = entry
            if future.done():
                self._waiters.remove(entry)
            elif self._fits(request):
                self._waiters.remove(entry)
                future.set_result(self._take(request))
