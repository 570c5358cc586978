"""A devbox started by the test (``flyte start devbox --trigger-time-scale 60``) and a project
directory with the workflow files to deploy."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from flyte.remote._remote_run import close_clients

WORKFLOW = textwrap.dedent(
    '''
    import asyncio
    from datetime import datetime

    import flyte
    import flyte.remote

    base = flyte.TaskEnvironment(name="base", resources=flyte.Resources(cpu=1, memory="200Mi"))
    app = flyte.TaskEnvironment(name="app", depends_on=[base], env_vars={"GREETING": "hi"})


    @base.task(retries=2, cache="auto")
    async def square(x: int, offset: int = 0) -> int:
        """x squared, plus an offset."""
        return x * x + offset


    @app.task(
        triggers=flyte.Trigger(
            "every_minute", flyte.FixedRate(1), auto_activate=False,
            inputs={"when": flyte.TriggerTime, "label": "tick"},
        )
    )
    async def tick(when: datetime, label: str = "x") -> str:
        return f"{label}@{when.isoformat()}"


    @app.task
    async def calls_current(x: int) -> str:
        found = flyte.remote.Task.get("base.square", auto_version="current")
        return f"{await found(x=x)}@{flyte.ctx().version}"


    @app.task
    async def main(n: int = 3) -> int:
        return sum(await asyncio.gather(*(square(i) for i in range(n))))
    '''
)

CALLER = textwrap.dedent(
    """
    import flyte
    import flyte.remote

    env = flyte.TaskEnvironment(name="caller")
    square = flyte.remote.Task.get("base.square", auto_version="latest")


    @env.task
    async def use_deployed(x: int) -> int:
        return await square(x=x, offset=1)


    @env.task
    async def use_overridden(x: int) -> int:
        return await square.override(retries=0)(x=x)


    @env.task
    async def wrong_call() -> int:
        return await square(y=1)
    """
)


@dataclass
class Devbox:
    endpoint: str
    api_key: str
    home: Path
    proc: subprocess.Popen

    def env(self, **extra: str) -> dict[str, str]:
        return dict(os.environ, FLYTE_ENDPOINT=self.endpoint, FLYTE_API_KEY=self.api_key, **extra)


def start_devbox(home: Path, *args: str, env: dict[str, str] | None = None) -> Devbox:
    """``flyte start devbox`` on a free loopback port with FLYTE_HOME=``home`` (and ``env`` added to
    its environment, e.g. ``FLYTE_SMTP_*``); waits until healthy."""
    log = open(home / "server.log", "ab")  # noqa: SIM115 (the server writes it until stopped)
    env = dict(os.environ, FLYTE_HOME=str(home), **(env or {}))
    cmd = [sys.executable, "-m", "flyte.cli.main", "start", "devbox", "--port", "0", "--workers", "2", *args]
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, (home / "server.log").read_text()
        assert time.monotonic() < deadline, "the devbox did not start in 60s"
        try:
            info = json.loads((home / "devbox.json").read_text())
            if info.get("pid") == proc.pid:
                httpx.get(f"{info['endpoint']}/healthz", timeout=2).raise_for_status()
                return Devbox(info["endpoint"], info["api_key"], home, proc)
        except (OSError, ValueError, httpx.HTTPError):
            pass
        time.sleep(0.1)


def stop_devbox(devbox: Devbox) -> None:
    close_clients()
    if devbox.proc.poll() is None:
        os.killpg(devbox.proc.pid, signal.SIGTERM)
        try:
            devbox.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(devbox.proc.pid, signal.SIGKILL)
            devbox.proc.wait()


@pytest.fixture(scope="module")
def devbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devbox]:
    box = start_devbox(tmp_path_factory.mktemp("devbox-home"), "--trigger-time-scale", "60")
    try:
        yield box
    finally:
        stop_devbox(box)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("project")
    (root / "wf.py").write_text(WORKFLOW)
    (root / "caller.py").write_text(CALLER)
    yield root
    for name in ("wf", "caller"):
        sys.modules.pop(name, None)
