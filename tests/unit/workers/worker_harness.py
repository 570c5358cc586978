"""Helpers for driving ProcessExecutor directly in tests, and for checking no worker outlives one."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from flyte._internal.runtime.convert import decode_outputs, encode_inputs
from flyte._internal.workers import AttemptResult, ProcessExecutor
from flyte.models import ActionID, TaskContext

CTX = TaskContext(
    action=ActionID(name="a1", run_name="r1"),
    custom_context={"team": "blue"},
    output_path="/tmp/out/a1/0",
    attempt_number=0,
)


def enc(task: Any, *args: Any, **kwargs: Any) -> bytes:
    return encode_inputs(task, task.interface.bind(task.name, args, kwargs))


def dec(task: Any, result: AttemptResult) -> Any:
    return decode_outputs(task, result.outputs)


async def run_task(
    ex: ProcessExecutor,
    task: Any,
    *args: Any,
    timeout: float | None = None,
    memory_limit: int | None = None,
    env: dict[str, str] | None = None,
    **kwargs: Any,
) -> Any:
    """Run ``task(*args)`` in a worker and return its decoded value."""
    result = await ex.run(
        task, enc(task, *args), CTX, timeout=timeout, memory_limit=memory_limit, env=env or {}, **kwargs
    )
    return dec(task, result)


def with_executor(body: Callable[[ProcessExecutor], Awaitable[Any]], **options: Any) -> Any:
    """Run ``body(executor)`` on a fresh loop; close the executor and check its workers are gone."""
    seen: list[int] = []

    async def main() -> Any:
        ex = ProcessExecutor(**options)
        original = ex.worker_pids

        def tracking() -> list[int]:
            pids = original()
            seen.extend(p for p in pids if p not in seen)
            return pids

        ex.worker_pids = tracking  # type: ignore[method-assign]
        try:
            return await asyncio.wait_for(body(ex), 60)
        finally:
            tracking()
            await ex.aclose()

    try:
        return asyncio.run(main())
    finally:
        for pid in seen:
            assert not pid_exists(pid), f"worker {pid} is still there after aclose()"


def pid_exists(pid: int) -> bool:
    """True while ``pid`` is a live process or an unreaped zombie."""
    return os.path.exists(f"/proc/{pid}")


def worker_children() -> list[int]:
    """Child processes of this process that run a flyte worker."""
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == me and b"flyte._internal.workers._worker" in cmdline:
            found.append(int(entry))
    return found


async def eventually(check: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
