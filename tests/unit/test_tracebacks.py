"""An action's error is recorded with its traceback: the user's frames, redacted, not the engine's."""

from __future__ import annotations

import pytest

import flyte
import flyte.errors
from flyte._internal.run_config import flyte_home
from flyte._internal.store import RunStore

env = flyte.TaskEnvironment(name="tracebacks")


def parse(text: str) -> int:
    return int(text)


@env.task
async def child(text: str) -> int:
    return parse(text)


@env.task
async def parent(text: str) -> int:
    return await child(text)


@env.task(timeout=0.2)
async def slow() -> int:
    import asyncio

    await asyncio.sleep(5)
    return 1


def _actions(run_name: str) -> dict:
    store = RunStore(flyte_home() / "runs.db")
    try:
        return {a.task_name: a for a in store.list_actions(run_name)}
    finally:
        store.close()


def test_a_failed_action_records_the_user_frames_of_its_error() -> None:
    with pytest.raises(ValueError) as caught:
        flyte.run(parent, "not a number")
    run_name = next(iter(flyte.remote.Run.listall())).name
    recorded = _actions(run_name)
    tb = recorded["tracebacks.child"].traceback
    assert tb is not None and tb.startswith("Traceback (most recent call last):")
    assert "in child" in tb and "in parse" in tb and tb.rstrip().endswith(str(caught.value))
    assert "/flyte/" not in tb  # no engine frames
    assert "in parent" in (recorded["tracebacks.parent"].traceback or "")


def test_timeouts_have_no_traceback() -> None:
    with pytest.raises(flyte.errors.TaskTimeoutError):
        flyte.run(slow)
    run_name = next(iter(flyte.remote.Run.listall())).name
    assert _actions(run_name)["tracebacks.slow"].traceback is None
