"""A flyte script runs under the standard profilers (users profile their workflows)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import flyte

    env = flyte.TaskEnvironment(name="profiled")

    @env.task
    def inc(x: int) -> int:
        return x + 1

    @env.task
    async def twice(x: int) -> int:
        return await inc.aio(await inc.aio(x))

    if __name__ == "__main__":
        flyte.init()
        print("outputs", flyte.run(twice, x=1).outputs())
    """
)


@pytest.mark.timeout(120)
def test_a_run_with_sync_tasks_finishes_under_cprofile(tmp_path: Path) -> None:
    # Clearing a sync thread's (absent) interruption once left CPython's async-exception flag
    # raised for good: every thread then took the eval loop's slow path, and under cProfile the
    # run never ended.
    script = tmp_path / "profiled.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(tmp_path / "out.prof"), str(script)],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "FLYTE_HOME": str(tmp_path / "home")},
    )
    assert done.returncode == 0, done.stderr
    assert "outputs (3,)" in done.stdout
    assert (tmp_path / "out.prof").stat().st_size > 0
