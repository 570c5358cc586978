"""Where the console's runs come from, and how its buttons act on them.

A :class:`ConsoleSource` is a :class:`~flyte.server.ui.reader.ConsoleReader` (every read) plus the
two actions of the buttons, done the way the rest of the project does them:

- :class:`ServerSource` (the control plane): abort and rerun through the scheduler and the
  submitter, exactly what ``POST /api/v1/runs/{run}/abort`` and ``.../rerun`` do.
- :class:`LocalSource` (``flyte start ui``): abort records the request in the local store, which
  the ``flyte run`` process executing the run polls (``flyte abort run``); rerun starts
  ``flyte rerun`` in a process of its own, since a local run executes in the process that starts
  it and the console must not run user code in its own.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flyte._internal.run_config import new_run_name
from flyte._internal.store import RunStore
from flyte.server.ui.reader import ConsoleReader

if TYPE_CHECKING:
    from flyte.server.scheduler import Scheduler
    from flyte.server.submit import Submitter

RERUN_APPEAR_SECONDS = 15.0
"""How long the local console waits for a rerun it started to appear in the store."""
REAP_INTERVAL = 5.0


class ActionRefused(Exception):
    """A button's action cannot be done (the run already ended, is unknown, ...); the message says why."""


class ConsoleSource(ConsoleReader):
    """Reads (inherited) and the buttons' actions; subclasses say where runs execute."""

    label = "runs"
    requires_sign_in = False

    async def abort(self, run: str, reason: str) -> None:
        raise NotImplementedError

    async def rerun(self, run: str, recover: bool) -> str:
        """Start a new run of ``run``'s task and inputs; returns its name."""
        raise NotImplementedError

    def refresh(self) -> None:
        """Bring the store up to date before a page is read (a no-op unless a subclass needs it)."""

    def local_path(self, path: str) -> Path | None:
        """``path`` (from a File, Dir or DataFrame of some action) as a file this console may
        serve, or None when it lives elsewhere (an object store) or outside what it serves."""
        return None


def _existing(path: str) -> Path | None:
    """An absolute local path (``/x`` or ``file:///x``) that exists, resolved."""
    if path.startswith("file://"):
        path = path[len("file://") :]
    candidate = Path(path)
    return candidate.resolve() if candidate.is_absolute() and candidate.exists() else None


class ServerSource(ConsoleSource):
    """The control plane's runs: its store, scheduler and submitter."""

    requires_sign_in = True

    def __init__(self, store: RunStore, scheduler: Scheduler, submitter: Submitter, storage_dir: Path):
        super().__init__(store)
        self.scheduler = scheduler
        self.submitter = submitter
        self.storage_dir = storage_dir
        self.label = "the control plane"

    async def abort(self, run: str, reason: str) -> None:
        record = await asyncio.to_thread(self.store.get_run, run)
        if record is None:
            raise ActionRefused(f"No run named '{run}'")
        if record.ended_at is not None:
            raise ActionRefused(f"Run '{run}' already ended as {record.phase.value}")
        await self.scheduler.abort_run(run, reason)

    async def rerun(self, run: str, recover: bool) -> str:
        from flyte.server.errors import ApiError

        try:
            return await self.submitter.rerun(run, recover, None)
        except ApiError as e:
            raise ActionRefused(e.detail if isinstance(e.detail, str) else str(e.detail)) from e

    def local_path(self, path: str) -> Path | None:
        """Only what lives in the server's storage (what tasks wrote and clients uploaded): an
        API key that can start runs must not make the console read other files of the host."""
        root = self.storage_dir.resolve()
        found = _existing(path)
        if found is None and "://" not in path and not path.startswith("/"):  # a data-proxy key
            candidate = (root / path).resolve()
            found = candidate if candidate.exists() else None
        return found if found is not None and found.is_relative_to(root) else None


class LocalSource(ConsoleSource):
    """The runs recorded under one ``FLYTE_HOME`` by ``flyte run --local`` and ``python wf.py``."""

    def __init__(self, store: RunStore, home: Path):
        super().__init__(store)
        self.home = home
        self.label = f"the local store in {home}"
        self._reaped = 0.0
        self.started: list[subprocess.Popen[bytes]] = []
        """The ``flyte rerun`` processes this console started (waited for on shutdown)."""

    def local_path(self, path: str) -> Path | None:
        """Any file of this machine that an action references: the runs are this user's own."""
        return _existing(path)

    def refresh(self) -> None:
        """Mark runs whose process died as failed (at most every few seconds), as the CLI does."""
        now = time.monotonic()
        if now - self._reaped >= REAP_INTERVAL:
            self._reaped = now
            self.store.reap_dead_runs()

    async def abort(self, run: str, reason: str) -> None:
        record = await asyncio.to_thread(self.store.get_run, run)
        if record is None:
            raise ActionRefused(f"No run named '{run}' in {self.home}")
        if record.ended_at is not None or not await asyncio.to_thread(self.store.request_abort, run, reason):
            raise ActionRefused(f"Run '{run}' is not running: it ended as {record.phase.value}")

    async def rerun(self, run: str, recover: bool) -> str:
        if await asyncio.to_thread(self.store.get_run, run) is None:
            raise ActionRefused(f"No run named '{run}' in {self.home}")
        name = new_run_name()
        args = [sys.executable, "-m", "flyte.cli.main", "rerun", run, "--name", name]
        if recover:
            args.append("--recover")
        log_dir = self.home / "console"
        log_dir.mkdir(parents=True, exist_ok=True)
        env: dict[str, Any] = dict(os.environ, FLYTE_HOME=str(self.home))
        with open(log_dir / f"rerun-{name}.log", "wb") as log:  # the child keeps its own handle
            proc = subprocess.Popen(
                args, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        self.started = [p for p in self.started if p.poll() is None] + [proc]
        deadline = time.monotonic() + RERUN_APPEAR_SECONDS
        while await asyncio.to_thread(self.store.get_run, name) is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                output = (log_dir / f"rerun-{name}.log").read_text(errors="replace").strip()
                raise ActionRefused(f"flyte rerun {run} did not start: {output[-500:] or 'no output'}")
            await asyncio.sleep(0.1)
        return name

    def stop(self, timeout: float = 10.0) -> None:
        """Wait for the reruns this console started; terminate those still going after ``timeout``."""
        deadline = time.monotonic() + timeout
        for proc in self.started:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
