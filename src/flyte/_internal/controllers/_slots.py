"""The local node: its capacity (CPUs, memory, GPUs) and the slots actions hold while they run.

An action that requests resources waits (``waiting_for_resources``) until they are free; one
that asks for more than the whole node fails at once instead of waiting forever. GPUs are given
as device ids, which the action sees in ``CUDA_VISIBLE_DEVICES``.

Capacity defaults to this machine (all cores, physical memory, visible NVIDIA GPUs) and can be
set with ``FLYTE_LOCAL_CPUS``, ``FLYTE_LOCAL_MEMORY`` (a quantity such as ``8Gi``) and
``FLYTE_LOCAL_GPUS`` (a count, or a comma-separated list of device ids).
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from flyte._resources import parse_cpu, parse_quantity
from flyte.errors import ResourceExhaustedError

if TYPE_CHECKING:
    from flyte._resources import Resources


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


@dataclass(frozen=True)
class Request:
    cpus: float = 0.0
    memory: int = 0
    gpus: int = 0

    @classmethod
    def of(cls, resources: Resources | None) -> Request | None:
        """What an action asks for (its requests, as a scheduler counts them), or None for nothing."""
        if resources is None:
            return None
        request = cls(
            cpus=resources.cpu_request_cores() or 0.0,
            memory=resources.memory_request_bytes() or 0,
            gpus=resources.gpu_count(),
        )
        return request if (request.cpus or request.memory or request.gpus) else None


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

    def check(self, request: Request, task_name: str) -> None:
        """Refuse at once what no amount of waiting could satisfy."""
        cap = self.capacity
        if request.cpus > cap.cpus or request.memory > cap.memory or request.gpus > len(cap.gpus):
            asked = ", ".join(
                part
                for part, value in (
                    (f"{request.cpus:g} CPUs", request.cpus),
                    (f"{request.memory / 1024**3:.2f} GiB memory", request.memory),
                    (f"{request.gpus} GPUs", request.gpus),
                )
                if value
            )
            raise ResourceExhaustedError(
                f"Task '{task_name}' requests {asked}, more than this local node has ({cap.describe()}). "
                "Lower the task's Resources, or raise FLYTE_LOCAL_CPUS / FLYTE_LOCAL_MEMORY / "
                "FLYTE_LOCAL_GPUS if the machine really has more.",
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

    def _wake(self) -> None:
        for entry in list(self._waiters):
            request, future = entry
            if future.done():
                self._waiters.remove(entry)
            elif self._fits(request):
                self._waiters.remove(entry)
                future.set_result(self._take(request))
