"""A devbox started by the test (``flyte start devbox --trigger-time-scale 60``, from
``tests/_services``) and a project directory with the workflow files to deploy."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from _services import Devbox, cli_args, running_devbox

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


@pytest.fixture(scope="module")
def devbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devbox]:
    home = tmp_path_factory.mktemp("devbox-home")
    with running_devbox(home, cli_args("--trigger-time-scale", "60")) as box:
        yield box


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("project")
    (root / "wf.py").write_text(WORKFLOW)
    (root / "caller.py").write_text(CALLER)
    yield root
    for name in ("wf", "caller"):
        sys.modules.pop(name, None)
