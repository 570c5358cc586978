"""The default executor: N worker processes on this host, restarted when they die.

Each worker runs ``<command> --endpoint URL --worker-id ID`` (by default ``python -m
flyte._bin.worker``) with ``FLYTE_API_KEY`` in its environment, claims actions over HTTP and runs
them. A worker that exits is replaced (with a growing delay if it keeps dying at once) and the
scheduler is told, so that its actions are queued again at once rather than when their leases
expire. On Linux a worker also gets SIGTERM if the server process dies (it asks for that itself, see
``flyte._internal.parent_death``), so a killed server leaves no orphans behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO

from flyte._internal.parent_death import PARENT_PID_ENV

logger = logging.getLogger("flyte.server")

QUICK_EXIT_SECONDS = 10.0
STOP_GRACE_SECONDS = 10.0


class HostWorkers:
    """Keeps ``workers`` worker processes running until :meth:`stop`."""

    def __init__(
        self,
        command: list[str],
        endpoint: str,
        api_key: str,
        workers: int,
        *,
        log_dir: Path | None = None,
        env: dict[str, str] | None = None,
        on_exit: Callable[[str], Awaitable[None]] | None = None,
        restart_delay: float = 0.5,
    ):
        self.command = list(command)
        self.endpoint = endpoint
        self._api_key = api_key
        self.workers = max(1, workers)
        self.log_dir = log_dir
        self.env = env
        self.on_exit = on_exit
        self.restart_delay = restart_delay
        self._procs: dict[int, asyncio.subprocess.Process] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.restarts = 0

    def pids(self) -> list[int]:
        """Process ids of the workers running now."""
        return [p.pid for p in self._procs.values() if p.returncode is None]

    async def start(self) -> None:
        self._stopping = False
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        for slot in range(self.workers):
            self._tasks.append(asyncio.create_task(self._keep(slot), name=f"flyte-worker-slot-{slot}"))
        logger.info("flyte server: starting %d worker processes", self.workers)

    async def _spawn(self, worker_id: str) -> asyncio.subprocess.Process:
        args = [*self.command, "--endpoint", self.endpoint, "--worker-id", worker_id]
        # The key goes in the environment, not on the command line, where `ps` would show it.
        env = {**(self.env if self.env is not None else os.environ), "FLYTE_API_KEY": self._api_key}
        env[PARENT_PID_ENV] = str(os.getpid())  # the worker stops itself if this server dies
        log: int | IO[bytes] = subprocess.DEVNULL
        if self.log_dir is not None:
            log = open(self.log_dir / f"{worker_id}.log", "ab")  # noqa: SIM115 (the child keeps it)
        try:
            return await asyncio.create_subprocess_exec(
                *args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        finally:
            if not isinstance(log, int):
                log.close()

    async def _keep(self, slot: int) -> None:
        loop = asyncio.get_running_loop()
        quick_exits = 0
        while not self._stopping:
            worker_id = f"w{slot}-{secrets.token_hex(4)}"
            try:
                proc = await self._spawn(worker_id)
            except OSError as e:
                logger.error("flyte server: cannot start worker %s: %s", worker_id, e)
                quick_exits += 1
                await asyncio.sleep(min(30.0, self.restart_delay * 2**quick_exits))
                continue
            self._procs[slot] = proc
            started = loop.time()
            code = await proc.wait()
            if self._stopping:
                break
            self._procs.pop(slot, None)
            quick_exits = quick_exits + 1 if loop.time() - started < QUICK_EXIT_SECONDS else 0
            self.restarts += 1
            logger.warning("flyte server: worker %s exited with code %s; starting another", worker_id, code)
            if self.on_exit is not None:
                try:
                    await self.on_exit(worker_id)
                except Exception as e:
                    logger.error("flyte server: could not requeue the actions of worker %s: %s", worker_id, e)
            await asyncio.sleep(
                min(30.0, self.restart_delay * 2 ** min(quick_exits, 6)) if quick_exits else 0
            )

    async def stop(self) -> None:
        """SIGTERM every worker, SIGKILL those still alive after a grace period, and wait for them."""
        self._stopping = True
        procs = [p for p in self._procs.values() if p.returncode is None]
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        if procs:
            waits = [asyncio.ensure_future(p.wait()) for p in procs]
            await asyncio.wait(waits, timeout=STOP_GRACE_SECONDS)
            for proc in procs:
                if proc.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(proc.pid, signal.SIGKILL)
                    await proc.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._procs.clear()
