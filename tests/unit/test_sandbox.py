"""flyte.sandbox: code run in the Monty sandbox as actions of a local run."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

import flyte
import flyte.errors
import flyte.sandbox
from flyte.sandbox import SandboxError, SandboxNotInstalledError

pytest.importorskip("pydantic_monty")

env = flyte.TaskEnvironment(name="sbx")
CALLED: list[str] = []


@env.task
async def add(x: int, y: int) -> int:
    CALLED.append(flyte.ctx().action.name)
    return x + y


@env.task
def mul(x: int, y: int) -> int:
    return x * y


@env.task
async def explode(x: int) -> int:
    raise ValueError(f"no {x}")


@env.sandbox.orchestrator
def route(x: int, y: int) -> int:
    total = add(x, y)
    return mul(total, 10)


@env.sandbox.orchestrator(timeout_ms=5_000)
async def fan(n: int) -> list[int]:
    out = []
    for i in range(n):
        out.append(await add(i, 1))
    return out + flyte_map("add", [1, 2], [3, 4])  # noqa: F821  # a sandbox builtin


@env.sandbox.orchestrator
def fails(x: int) -> int:
    return explode(x)


@env.sandbox.orchestrator(timeout_ms=200)
def spins() -> int:
    n = 0
    while True:
        n = n + 1
    return n


@env.task
async def parent(x: int) -> int:
    return await route.aio(x, 1)


twice = flyte.sandbox.orchestrator_from_str(
    "add(x, y) * 2", inputs={"x": int, "y": int}, output=int, tasks=[add]
)
from_env = env.sandbox.orchestrator("mul(x, x)", inputs={"x": int}, output=int, tasks=[mul], name="square")


def test_an_orchestrator_calls_tasks_as_child_actions() -> None:
    CALLED.clear()
    assert flyte.run(route, 1, 2).outputs() == (30,)
    assert len(CALLED) == 1 and CALLED[0] != "a0"  # add ran as its own action under the orchestrator
    assert isinstance(route, flyte.sandbox.SandboxedTaskTemplate)
    assert route.name == "sbx.route" and "sbx.route" in env.tasks
    assert route.task_type == "sandboxed-python"


def test_async_orchestrators_await_tasks_and_map_them() -> None:
    assert flyte.run(fan, 3).outputs() == ([1, 2, 3, 4, 6],)


def test_an_orchestrator_can_be_a_child_of_a_task() -> None:
    assert flyte.run(parent, 4).outputs() == (50,)


def test_tasks_from_code_strings() -> None:
    assert flyte.run(twice, x=1, y=2).outputs() == (6,)
    assert flyte.run(from_env, x=7).outputs() == (49,)
    assert isinstance(twice, flyte.sandbox.CodeTaskTemplate)


def test_orchestrate_local_returns_the_last_expression() -> None:
    assert asyncio.run(flyte.sandbox.orchestrate_local("x + y", inputs={"x": 1, "y": 2})) == 3


def test_a_failing_child_task_fails_the_orchestrator_with_its_error() -> None:
    with pytest.raises(Exception, match="no 3"):
        flyte.run(fails, 3)


def test_sandboxed_code_cannot_import_or_run_forever() -> None:
    bad = flyte.sandbox.orchestrator_from_str(
        "import os\nos.listdir('/')", inputs={}, output=list, name="bad"
    )
    with pytest.raises(SandboxError) as info:
        flyte.run(bad)
    assert "bad" in str(info.value)
    with pytest.raises(SandboxError, match="TimeoutError"):
        flyte.run(spins)


def test_the_module_level_orchestrator_only_calls_tasks() -> None:
    @flyte.sandbox.orchestrator
    def fine(x: int) -> int:
        return add(x, 1)

    assert isinstance(fine, flyte.sandbox.OrchestratorTaskTemplate)

    @flyte.trace
    async def helper(x: int) -> int:
        return x

    with pytest.raises(flyte.errors.RuntimeUserError, match="may only call tasks, but helper is not"):

        @flyte.sandbox.orchestrator
        def not_fine(x: int) -> int:
            return helper(x)


def test_the_container_sandbox_is_refused_clearly() -> None:
    with pytest.raises(flyte.errors.RuntimeUserError, match="does not"):
        flyte.sandbox.create(name="x", code="1")


def test_without_the_extra_use_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pydantic_monty", None)  # makes `import pydantic_monty` fail
    with pytest.raises(SandboxNotInstalledError, match=r"pip install 'flyte-engine\[sandbox\]'") as info:
        asyncio.run(flyte.sandbox.orchestrate_local("1", inputs={}))
    assert isinstance(info.value, flyte.errors.RuntimeUserError) and isinstance(info.value, ImportError)
    with pytest.raises(SandboxNotInstalledError):
        flyte.run(route, 1, 2)


def test_importing_flyte_sandbox_never_needs_the_extra(tmp_path) -> None:
    code = (
        "import sys; sys.modules['pydantic_monty'] = None\n"
        "import flyte, flyte.sandbox\n"
        "env = flyte.TaskEnvironment(name='e')\n"
        "@env.sandbox.orchestrator\n"
        "def f(x: int) -> int:\n"
        "    return x\n"
        "print(type(f).__name__)\n"
    )
    script = tmp_path / "no_monty.py"
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "SandboxedTaskTemplate"
