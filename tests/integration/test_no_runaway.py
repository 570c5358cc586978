"""A script that calls ``flyte.run`` at module level, without an ``if __name__ == "__main__":``
guard, runs once and finishes, also when its tasks run in worker processes (which import it)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCRIPT = textwrap.dedent(
    """
    import os
    import flyte

    with open(os.environ["IMPORT_LOG"], "a") as f:  # one line per process that imports this file
        f.write(f"{os.getpid()}\\n")

    env = flyte.TaskEnvironment(name="noguard", env_vars={"COLOR": "blue"})  # env vars: a worker
    small = flyte.TaskEnvironment(name="noguard_small", resources=flyte.Resources(memory="300Mi"))

    @env.task
    def color(x: int) -> str:
        return f"{os.environ['COLOR']}{x}"

    @env.task(timeout=60)  # a sync task with a timeout: a worker
    def doubled(x: int) -> int:
        return x * 2

    @small.task  # a sync task with a memory limit: a worker
    def in_small_worker(x: int) -> int:
        return x + 100

    @env.task
    async def main(n: int = 3) -> str:
        parts = [await color.aio(i) for i in range(n)]
        return ",".join(parts) + f"|{await doubled.aio(n)}|{await in_small_worker.aio(n)}"

    run = flyte.run(main, n=3)
    print("OUTPUT", run.outputs()[0])
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie of ours is not a leftover process
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_a_script_without_a_main_guard_runs_once_with_bounded_processes(tmp_path: Path):
    (tmp_path / "noguard.py").write_text(SCRIPT)
    log = tmp_path / "imports.log"
    env = dict(os.environ, IMPORT_LOG=str(log), FLYTE_HOME=str(tmp_path / "home"), FLYTE_LOCAL_CPUS="2")
    proc = subprocess.Popen(
        [sys.executable, "noguard.py"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # so that a runaway, if it ever came back, is killed as a group
    )
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()
    assert proc.returncode == 0, err
    assert out.count("OUTPUT") == 1 and "OUTPUT blue0,blue1,blue2|6|103" in out
    pids = [int(line) for line in log.read_text().split()]
    assert len(pids) == len(set(pids))  # nobody imported it twice
    assert 2 <= len(pids) <= 1 + 2 + 1  # the script, its workers (one per CPU, +1 for the memory limit)
    assert not [pid for pid in pids if _alive(pid)], "worker processes outlived the script"
