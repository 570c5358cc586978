"""Executors run the actions the scheduler queues, by starting workers that speak the executor
protocol (``/api/v1/executor/...``). The default starts worker processes on this host
(:class:`~flyte.server.executors.processes.HostWorkers`); a Ray executor can follow the same
protocol."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Executor(Protocol):
    """Something that keeps workers running while the server runs."""

    async def start(self) -> None:
        """Start the workers (return once they are launched, not once they are idle)."""

    async def stop(self) -> None:
        """Stop every worker this executor started."""


__all__ = ["Executor"]
