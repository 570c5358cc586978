"""Settings are never silently dropped: environment → task → ``override()`` → run context, one
rule, whether the action runs in-process, in a worker process, or is called from one."""

from __future__ import annotations

import os
import resource

import pytest

import flyte
import flyte.errors

pytestmark = pytest.mark.integration

env = flyte.TaskEnvironment(
    name="ov", env_vars={"A": "env", "B": "env"}, resources=flyte.Resources(memory="200Mi")
)
plain = flyte.TaskEnvironment(name="ov_plain")
in_worker = flyte.TaskEnvironment(name="ov_worker", env_vars={"PARENT": "worker"})


@env.task
def settings() -> str:
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    return f"A={os.environ.get('A')} B={os.environ.get('B')} C={os.environ.get('C')} D={os.environ.get('D')} as={limit}"


@env.task(timeout=60)
def naps(seconds: float) -> str:
    import time

    time.sleep(seconds)
    return "rested"


async def _calls() -> dict[str, str]:
    overridden = settings.override(env_vars={"A": "override", "C": "override"})
    bigger = settings.override(resources=flyte.Resources(memory="2Gi"))
    out = {"plain": await settings.aio(), "override": await overridden.aio()}
    small_as, big_as = (int(s.rsplit("as=", 1)[1]) for s in (out["plain"], await bigger.aio()))
    out["bigger memory limit"] = str(big_as - small_as > 1500 * 2**20)
    try:
        await naps.override(timeout=0.5).aio(30)
        out["timeout"] = "not enforced"
    except flyte.errors.MaxRuntimeExceededError as e:
        out["timeout"] = type(e).__name__
    return out


@plain.task
async def from_the_parent_process() -> dict[str, str]:
    return await _calls()


@in_worker.task
async def from_a_worker_process() -> dict[str, str]:
    assert os.environ["PARENT"] == "worker"
    return await _calls()


@pytest.mark.parametrize(
    "parent", [from_the_parent_process, from_a_worker_process], ids=["in-process", "worker"]
)
def test_override_wins_over_environment_and_run_context_wins_over_all(parent):
    got = flyte.run(parent).outputs()[0]
    assert got["plain"].startswith("A=env B=env C=None D=None")
    assert got["override"].startswith("A=override B=env C=override D=None")
    assert got["bigger memory limit"] == "True"
    assert got["timeout"] == "MaxRuntimeExceededError"
    with_run_env = flyte.with_runcontext(env_vars={"A": "run", "D": "run"}).run(parent).outputs()[0]
    assert with_run_env["plain"].startswith("A=run B=env C=None D=run")
    assert with_run_env["override"].startswith("A=run B=env C=override D=run")


def test_override_leaves_the_original_alone():
    changed = settings.override(env_vars={"A": "x"}, resources=flyte.Resources(memory="1Gi"))
    assert settings.env_vars == {"A": "env", "B": "env"} and changed.env_vars == {"A": "x", "B": "env"}
    assert settings.resources == flyte.Resources(memory="200Mi")
    assert changed.resources == flyte.Resources(memory="1Gi")
