"""Fixtures of the human-in-the-loop and notification tests: a loopback HTTP server that records
what it is sent (one path of it always fails), a loopback SMTP server (aiosmtpd), a workflow
file, and a devbox in a subprocess. Every server is started and stopped by its fixture; the
HTTP and SMTP servers themselves live in ``tests/_services.py`` (shared with tests/deploy)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from _services import Hooks, Mailbox, serve_hooks, serve_smtp

__all__ = [
    "WORKFLOW",
    "Devbox",
    "Hooks",
    "Mailbox",
    "serve_hooks",
    "serve_smtp",
    "start_devbox",
    "stop_devbox",
]

WORKFLOW = textwrap.dedent(
    """
    import os

    import flyte
    import flyte.errors
    import flyte.notify as notify
    from flyte._condition import ConditionWebhook, new_condition
    from flyte.models import ActionPhase

    env = flyte.TaskEnvironment(name="hitl")
    HOOKS = os.environ.get("HOOKS_URL", "http://127.0.0.1:9")


    @env.task
    async def add_approved(x: int) -> int:
        bump = await new_condition(
            "bump",
            prompt="How much to add?",
            data_type=int,
            webhook=ConditionWebhook(f"{HOOKS}/condition", {"answer_at": "{callback_uri}", "what": "{condition}"}),
        )
        return x + await bump.wait()


    @env.task
    async def gate(seconds: float) -> str:
        approval = await new_condition("approve", data_type=bool, timeout=seconds)
        return "yes" if await approval.wait() else "no"


    @env.task
    async def guarded(seconds: float) -> str:
        try:
            return await gate(seconds)
        except flyte.errors.ConditionTimedoutError as e:
            return f"caught {type(e).__name__}"


    @env.task
    def sync_note() -> str:
        note = new_condition("note", prompt="Why?", data_type=str)
        return "note: " + note.wait()


    @env.task(
        notifications=notify.Webhook(on_phase=ActionPhase.SUCCEEDED, url=f"{HOOKS}/task",
                                     body={"task": "{task.name}", "phase": "{run.phase}"})
    )
    async def square(x: int) -> int:
        return x * x


    @env.task
    async def approve_then_check(marker: str) -> int:
        bump = await new_condition("bump2", data_type=int)
        value = await bump.wait()
        if not os.path.exists(marker):
            raise RuntimeError("marker missing")
        return value


    @env.task
    async def fails(x: int) -> int:
        raise ValueError(f"bad input {x}")


    @env.task
    async def notified(x: int) -> int:
        return await square(x) + 1
    """
)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "project"
    root.mkdir()
    (root / "hitl_wf.py").write_text(WORKFLOW)
    yield root
    sys.modules.pop("hitl_wf", None)


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    with serve_hooks() as h:
        yield h


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    with serve_smtp() as box:
        yield box


LAUNCH = (
    "import sys; from pathlib import Path; from flyte.server.settings import ServerSettings; "
    "from flyte.server.devbox import run_devbox; "
    "run_devbox(ServerSettings(home=Path(sys.argv[1]), host='127.0.0.1', port=0, workers=2))"
)


@dataclass
class Devbox:
    endpoint: str
    api_key: str
    home: Path
    log: Path


def start_devbox(home: Path, extra_env: dict[str, str]) -> tuple[subprocess.Popen[bytes], Devbox, Any]:
    log_path = home / "server.log"
    log = open(log_path, "wb")  # noqa: SIM115 (the server writes it until stopped)
    env = dict(os.environ, FLYTE_HOME=str(home), **extra_env)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, str(home)], env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    info: dict[str, str] = {}
    while not info:
        assert proc.poll() is None, log_path.read_text()
        assert time.monotonic() < deadline, "the devbox did not start in 60s"
        try:
            info = json.loads((home / "devbox.json").read_text())
            httpx.get(f"{info['endpoint']}/healthz", timeout=2).raise_for_status()
        except (OSError, ValueError, KeyError, httpx.HTTPError):
            info = {}
            time.sleep(0.1)
    return proc, Devbox(info["endpoint"], info["api_key"], home, log_path), log


def stop_devbox(proc: subprocess.Popen[bytes], log: Any) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()
    log.close()
