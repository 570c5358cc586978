"""Fixtures of the human-in-the-loop and notification tests: a loopback HTTP server that records
what it is sent (one path of it always fails), a loopback SMTP server (aiosmtpd), a workflow
file. Every server is started and stopped by its fixture; the servers themselves (and the devbox of
test_devbox.py) live in ``tests/_services.py``."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from _services import Hooks, Mailbox, serve_hooks, serve_smtp

__all__ = [
    "WORKFLOW",
    "Hooks",
    "Mailbox",
    "serve_hooks",
    "serve_smtp",
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
