"""`flyte run --local` as a user runs it: a real process, real files, exit codes and output."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

WORKFLOW = textwrap.dedent(
    """
    import asyncio
    import dataclasses
    import os
    import flyte

    env = flyte.TaskEnvironment(name="cli")

    @dataclasses.dataclass
    class Cfg:
        scale: int
        label: str

    @env.task
    async def square(x: int) -> int:
        return x * x

    @env.task
    async def main(n: int = 3, greeting: str = "hi") -> str:
        total = sum(await asyncio.gather(*(square(i) for i in range(n))))
        return f"{greeting} {total}"

    @env.task
    def scaled(values: list[int], cfg: Cfg, flag: bool = False) -> str:
        return f"{cfg.label}:{[v * cfg.scale for v in values]}:{flag}"

    @env.task
    def read_env() -> str:
        return os.environ.get("MY_VAR", "unset")

    @env.task
    async def explode(x: int) -> int:
        raise ValueError(f"cannot handle {x}")

    big = flyte.TaskEnvironment(name="big", resources=flyte.Resources(cpu=16, memory="1Gi"))

    @big.task
    async def crunch() -> str:
        return "crunched"
    """
)


def flyte_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "flyte.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )


@pytest.fixture
def workflow(tmp_path: Path) -> Path:
    path = tmp_path / "wf.py"
    path.write_text(WORKFLOW)
    return path


def test_run_with_typed_options_and_defaults(workflow: Path):
    result = flyte_cli("run", "--local", "wf.py", "main", "--n", "4", cwd=workflow.parent)
    assert result.returncode == 0, result.stderr
    assert "hi 14" in result.stdout  # 0 + 1 + 4 + 9
    assert "succeeded" in result.stdout


def test_complex_inputs_as_json(workflow: Path):
    result = flyte_cli(
        "run", "--local", "wf.py", "scaled",
        "--values", "[1, 2, 3]", "--cfg", '{"scale": 10, "label": "x"}', "--flag",
        cwd=workflow.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "x:[10, 20, 30]:True" in result.stdout


def test_run_name_and_env_vars(workflow: Path):
    result = flyte_cli("run", "--local", "--name", "my-cli-run", "-e", "MY_VAR=hello", "wf.py", "read_env",
                       cwd=workflow.parent)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "my-cli-run" in result.stdout
    assert "hello" in result.stdout


def test_task_help_lists_inputs(workflow: Path):
    result = flyte_cli("run", "--local", "wf.py", "scaled", "--help", cwd=workflow.parent)
    assert result.returncode == 0
    assert "--values" in result.stdout and "list[int]" in result.stdout
    assert "--cfg" in result.stdout and "--flag" in result.stdout


def test_file_help_lists_tasks(workflow: Path):
    result = flyte_cli("run", "--local", "wf.py", "--help", cwd=workflow.parent)
    assert result.returncode == 0
    for task in ("main", "scaled", "explode"):
        assert task in result.stdout


def test_failed_run_exits_non_zero_with_a_readable_message(workflow: Path):
    result = flyte_cli("run", "--local", "wf.py", "explode", "--x", "7", cwd=workflow.parent)
    assert result.returncode == 1
    assert "ValueError: cannot handle 7" in result.stderr
    assert "cli.explode" in result.stderr
    assert "Traceback" not in result.stderr


def test_verbose_shows_the_traceback(workflow: Path):
    result = flyte_cli("-v", "run", "--local", "wf.py", "explode", "--x", "7", cwd=workflow.parent)
    assert result.returncode == 1
    assert "Traceback" in result.stderr


def test_missing_required_input_and_bad_value(workflow: Path):
    result = flyte_cli("run", "--local", "wf.py", "scaled", cwd=workflow.parent)
    assert result.returncode == 2
    assert "--values" in result.stderr
    result = flyte_cli("run", "--local", "wf.py", "main", "--n", "many", cwd=workflow.parent)
    assert result.returncode == 2
    assert "many" in result.stderr


def test_unknown_task_and_missing_file(workflow: Path):
    result = flyte_cli("run", "--local", "wf.py", "nope", cwd=workflow.parent)
    assert result.returncode == 1
    assert "No task named 'nope'" in result.stderr and "main" in result.stderr
    result = flyte_cli("run", "--local", "missing.py", "main", cwd=workflow.parent)
    assert result.returncode == 1
    assert "does not exist" in result.stderr


def test_builtin_hello_demo(tmp_path: Path):
    result = flyte_cli("run", "--local", "hello", "--n", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hello world #0" in result.stdout and "hello world #1" in result.stdout


def test_version(tmp_path: Path):
    result = flyte_cli("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert "flyte" in result.stdout


def test_isolate_flag_runs_actions_in_worker_processes(tmp_path: Path):
    (tmp_path / "pids.py").write_text(
        "import os\nimport flyte\nenv = flyte.TaskEnvironment(name='pids')\n\n"
        "@env.task\nasync def parent_pid() -> int:\n    return os.getppid()\n"
    )
    plain = flyte_cli("run", "--local", "pids.py", "parent_pid", cwd=tmp_path)
    isolated = flyte_cli("run", "--local", "--isolate", "pids.py", "parent_pid", cwd=tmp_path)
    assert plain.returncode == 0 and isolated.returncode == 0, plain.stderr + isolated.stderr
    assert f"o0: {os.getpid()}" in plain.stdout  # in-process: the CLI's parent is this test
    assert f"o0: {os.getpid()}" not in isolated.stdout  # in a worker: its parent is the CLI


def test_a_too_big_task_runs_with_a_warning_unless_strict(workflow: Path):
    small = {"FLYTE_LOCAL_CPUS": "2", "FLYTE_LOCAL_MEMORY": "4Gi"}
    result = flyte_cli("run", "--local", "wf.py", "crunch", cwd=workflow.parent, env=small)
    assert result.returncode == 0, result.stderr
    assert "crunched" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if "warning:" in line]
    assert len(warnings) == 1 and "big.crunch" in warnings[0] and "16 CPUs -> 2" in warnings[0]
    strict = flyte_cli(
        "run", "--local", "--strict-resources", "wf.py", "crunch", cwd=workflow.parent, env=small
    )
    assert strict.returncode == 1
    assert "ResourceExhaustedError" in strict.stderr and "requests 16 CPUs" in strict.stderr
    assert "Traceback" not in strict.stderr
