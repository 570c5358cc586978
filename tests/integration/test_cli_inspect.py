"""``flyte get|abort|rerun|delete local-cache`` as a user runs them: real processes on a real store.

Every test runs workflows with ``flyte run --local`` in a subprocess, then inspects the run store
under the test's own ``FLYTE_HOME`` (set by the autouse fixture in tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

WORKFLOW = textwrap.dedent(
    """
    import asyncio
    import logging
    from pathlib import Path

    import flyte

    env = flyte.TaskEnvironment(name="insp")
    HERE = Path(__file__).parent


    def bump(marker: str) -> None:
        with open(HERE / marker, "a") as f:
            f.write("x")


    @env.task
    async def square(x: int) -> int:
        print(f"squaring {x}")
        return x * x


    @env.task
    async def main(n: int = 3) -> int:
        print("main starting")
        logging.getLogger("wf").warning("fanning out to %d", n)
        return sum(await asyncio.gather(*(square(i) for i in range(n))))


    @env.task(cache="auto")
    async def cached_double(x: int) -> int:
        bump("double.count")
        return 2 * x


    @env.task
    async def uses_cache(x: int = 4) -> int:
        return await cached_double(x) + 1


    @env.task
    async def step(x: int) -> int:
        bump("step.count")
        return x + 1


    @env.task
    async def flaky(x: int) -> int:
        if not (HERE / "fixed").exists():
            raise ValueError("not fixed yet")
        return x * 10


    @env.task
    async def pipeline(x: int = 1) -> int:
        return await flaky(await step(x))


    @env.task
    async def sleepy(seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "woke up"


    @env.task
    async def long_parent(seconds: float = 30.0) -> str:
        return await sleepy(seconds)


    @env.task
    async def tolerant_parent(seconds: float = 30.0) -> str:
        # The first child is awaited inline (same asyncio task as the parent), the other two in a
        # gather: aborting one of them by name must leave the parent and its siblings running.
        try:
            first = await sleepy(seconds)
        except flyte.errors.ActionAbortedError as e:
            first = f"caught: {e}"
        rest = await asyncio.gather(sleepy(0.2), square(3), return_exceptions=True)
        return f"{first} | {rest[0]} | {rest[1]}"
    """
)

RUN_NAME = re.compile(r"Run (\S+) (succeeded|failed|aborted|timed_out)")


def flyte_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flyte.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=os.environ,
        timeout=120,
    )


def cli_json(*args: str, cwd: Path) -> Any:
    result = flyte_cli(*args, "-of", "json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def run_workflow(cwd: Path, *args: str, expect_rc: int = 0) -> str:
    """``flyte run --local wf.py ...``; returns the run's name."""
    result = flyte_cli("run", "--local", "wf.py", *args, cwd=cwd)
    assert result.returncode == expect_rc, result.stdout + result.stderr
    found = RUN_NAME.search(result.stdout + result.stderr)
    assert found, result.stdout + result.stderr
    return found.group(1)


@pytest.fixture
def wf_dir(tmp_path: Path) -> Path:
    (tmp_path / "wf.py").write_text(WORKFLOW)
    return tmp_path


def by_task(actions: list[dict[str, Any]], task: str) -> list[dict[str, Any]]:
    return [a for a in actions if a["task_name"] == task]


def test_get_runs_run_action_io_logs(wf_dir: Path):
    name = run_workflow(wf_dir, "main", "--n", "3")

    # get runs
    runs = cli_json("get", "runs", cwd=wf_dir)
    assert [r["name"] for r in runs] == [name]
    assert runs[0]["phase"] == "succeeded" and runs[0]["task_name"] == "insp.main"
    assert runs[0]["error_type"] is None and runs[0]["duration_s"] >= 0
    assert cli_json("get", "runs", "--phase", "failed", cwd=wf_dir) == []
    assert len(cli_json("get", "runs", "--phase", "succeeded", "--task", "main", cwd=wf_dir)) == 1
    assert cli_json("get", "runs", "--task", "nothing", cwd=wf_dir) == []
    table = flyte_cli("get", "runs", cwd=wf_dir)
    assert table.returncode == 0
    header, row = table.stdout.splitlines()
    assert header.split() == ["NAME", "TASK", "PHASE", "STARTED", "DURATION", "ERROR"]
    assert row.split()[:3] == [name, "insp.main", "succeeded"]

    # get run: the tree
    detail = cli_json("get", "run", name, cwd=wf_dir)
    assert detail["run"]["name"] == name and detail["run"]["phase"] == "succeeded"
    actions = detail["actions"]
    assert actions[0]["name"] == "a0" and actions[0]["depth"] == 0 and actions[0]["parent"] is None
    children = by_task(actions, "insp.square")
    assert len(children) == 3
    assert all(c["parent"] == "a0" and c["depth"] == 1 and c["phase"] == "succeeded" for c in children)
    assert all(c["attempts"] == 1 for c in actions)
    tree = flyte_cli("get", "run", name, cwd=wf_dir)
    assert tree.returncode == 0
    lines = tree.stdout.splitlines()
    assert lines[0].startswith(f"Run {name}  insp.main  succeeded")
    assert lines[1].split()[:3] == ["ACTION", "TASK", "PHASE"]
    assert lines[2].startswith("a0 ")
    for child in children:
        assert any(line.startswith(f"  {child['name']} ") and "insp.square" in line for line in lines)

    # get action: detail and phase history
    child = children[1]
    action = cli_json("get", "action", name, child["name"], cwd=wf_dir)
    assert action["task_name"] == "insp.square" and action["parent"] == "a0"
    assert [h["phase"] for h in action["history"]] == ["queued", "running", "succeeded"]
    root = cli_json("get", "action", name, "a0", cwd=wf_dir)
    assert sorted(root["children"]) == sorted(c["name"] for c in children)
    text = flyte_cli("get", "action", name, "a0", cwd=wf_dir).stdout
    assert "Phase history:" in text and "Task:" in text and "insp.main" in text
    assert re.search(r"running\s+1", text)
    listing = cli_json("get", "action", name, cwd=wf_dir)
    assert len(listing) == 4

    # get io
    io = cli_json("get", "io", name, cwd=wf_dir)
    assert io == {"run": name, "action": "a0", "phase": "succeeded", "inputs": {"n": 3}, "outputs": {"o0": 5}}
    child_io = cli_json("get", "io", name, child["name"], cwd=wf_dir)
    x = child_io["inputs"]["x"]
    assert child_io["outputs"] == {"o0": x * x}
    assert cli_json("get", "io", name, "--inputs-only", cwd=wf_dir) == {
        "run": name,
        "action": "a0",
        "phase": "succeeded",
        "inputs": {"n": 3},
    }
    io_text = flyte_cli("get", "io", name, cwd=wf_dir).stdout
    assert io_text.splitlines() == ["Inputs:", "  n: 3", "Outputs:", "  o0: 5"]

    # get logs
    logs = flyte_cli("get", "logs", name, cwd=wf_dir)
    assert logs.returncode == 0
    assert "[a0] main starting" in logs.stdout
    assert "[a0] WARNING wf: fanning out to 3" in logs.stdout
    for c in children:
        assert f"[{c['name']}] squaring {c_input(name, c['name'], wf_dir)}" in logs.stdout
    own = flyte_cli("get", "logs", name, "a0", cwd=wf_dir).stdout.splitlines()
    assert "main starting" in own and not any("squaring" in line for line in own)
    records = cli_json("get", "logs", name, child["name"], cwd=wf_dir)
    assert records == [
        {
            "action": child["name"],
            "attempt": 0,
            "stream": "stdout",
            "at": records[0]["at"],
            "line": f"squaring {x}",
        }
    ]


def c_input(run: str, action: str, cwd: Path) -> int:
    return cli_json("get", "io", run, action, cwd=cwd)["inputs"]["x"]


def test_unknown_runs_and_actions_exit_1(wf_dir: Path):
    for args in (
        ("get", "run", "nope"),
        ("get", "io", "nope"),
        ("get", "logs", "nope"),
        ("get", "action", "nope", "a0"),
        ("abort", "run", "nope"),
        ("rerun", "nope"),
    ):
        result = flyte_cli(*args, cwd=wf_dir)
        assert result.returncode == 1, args
        assert "Error: No run named 'nope'" in result.stderr, args
    name = run_workflow(wf_dir, "main", "--n", "1")
    missing = flyte_cli("get", "action", name, "zzz", "-of", "json", cwd=wf_dir)
    assert missing.returncode == 1
    assert f"Error: Run '{name}' has no action named 'zzz'" in missing.stderr
    assert missing.stdout == ""
    assert flyte_cli("get", "runs", cwd=wf_dir).stdout.count("\n") == 2  # header + 1 run


def test_cache_hits_and_delete_local_cache(wf_dir: Path):
    first = run_workflow(wf_dir, "uses_cache", "--x", "4")
    second = run_workflow(wf_dir, "uses_cache", "--x", "4")
    assert (wf_dir / "double.count").read_text() == "x"

    def cached_action(run: str) -> dict[str, Any]:
        (action,) = by_task(cli_json("get", "run", run, cwd=wf_dir)["actions"], "insp.cached_double")
        return action

    assert cached_action(first)["cache_status"] == "miss"
    assert cached_action(second)["cache_status"] == "hit"
    assert cli_json("get", "io", second, cwd=wf_dir)["outputs"] == {"o0": 9}
    tree = flyte_cli("get", "run", second, cwd=wf_dir).stdout
    assert any("insp.cached_double" in line and " hit " in f"{line} " for line in tree.splitlines())

    cleared = flyte_cli("delete", "local-cache", cwd=wf_dir)
    assert cleared.returncode == 0, cleared.stderr
    assert "Removed 1 entry from the local task cache" in cleared.stdout
    assert "Removed 0 entries" in flyte_cli("delete", "local-cache", cwd=wf_dir).stdout
    third = run_workflow(wf_dir, "uses_cache", "--x", "4")
    assert cached_action(third)["cache_status"] == "miss"
    assert (wf_dir / "double.count").read_text() == "xx"


def test_failed_run_then_rerun_and_rerun_recover(wf_dir: Path):
    failed = run_workflow(wf_dir, "pipeline", "--x", "1", expect_rc=1)
    assert (wf_dir / "step.count").read_text() == "x"

    runs = cli_json("get", "runs", "--phase", "failed", cwd=wf_dir)
    assert [r["name"] for r in runs] == [failed]
    assert runs[0]["error_type"] == "ValueError" and runs[0]["error_message"] == "not fixed yet"
    assert "ValueError: not fixed yet" in flyte_cli("get", "runs", cwd=wf_dir).stdout
    actions = cli_json("get", "run", failed, cwd=wf_dir)["actions"]
    (flaky,) = by_task(actions, "insp.flaky")
    assert flaky["phase"] == "failed" and flaky["error_type"] == "ValueError"
    assert by_task(actions, "insp.step")[0]["phase"] == "succeeded"
    assert cli_json("get", "io", failed, cwd=wf_dir)["outputs"] is None
    assert "not available: the action is failed" in flyte_cli("get", "io", failed, cwd=wf_dir).stdout

    # a plain rerun executes everything again, and fails the same way
    again = flyte_cli("rerun", failed, "--name", "plain-rerun", cwd=wf_dir)
    assert again.returncode == 1
    expected = f"Error: Run plain-rerun failed: task 'insp.flaky' (action {flaky['name']}) raised ValueError: not fixed yet"
    assert expected in again.stderr
    assert (wf_dir / "step.count").read_text() == "xx"

    # fixed, a recovering rerun replays `step` and executes only `flaky`
    (wf_dir / "fixed").write_text("")
    recovered = flyte_cli("rerun", failed, "--recover", "--name", "recovered-run", cwd=wf_dir)
    assert recovered.returncode == 0, recovered.stderr
    assert "Run recovered-run succeeded" in recovered.stdout
    assert "  o0: 20" in recovered.stdout
    assert (wf_dir / "step.count").read_text() == "xx"
    detail = cli_json("get", "run", "recovered-run", cwd=wf_dir)
    assert detail["run"]["source_run"] == failed and detail["run"]["phase"] == "succeeded"
    assert by_task(detail["actions"], "insp.step")[0]["cache_status"] == "recovered"
    assert by_task(detail["actions"], "insp.flaky")[0]["cache_status"] is None
    tree = flyte_cli("get", "run", "recovered-run", cwd=wf_dir).stdout
    assert any("insp.step" in line and "recovered" in line for line in tree.splitlines())

    taken = flyte_cli("rerun", failed, "--name", "recovered-run", cwd=wf_dir)
    assert taken.returncode == 1 and "already exists" in taken.stderr


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def test_abort_a_run_going_on_in_another_process(wf_dir: Path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flyte.cli.main",
            "run",
            "--local",
            "--name",
            "to-abort",
            "wf.py",
            "long_parent",
        ],
        cwd=wf_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ,
    )
    try:

        def child_running() -> bool:
            runs = cli_json("get", "runs", "--phase", "running", cwd=wf_dir)
            if [r["name"] for r in runs] != ["to-abort"]:
                return False
            actions = cli_json("get", "run", "to-abort", cwd=wf_dir)["actions"]
            return any(a["task_name"] == "insp.sleepy" and a["phase"] == "running" for a in actions)

        wait_for(child_running)
        aborted = flyte_cli("abort", "run", "to-abort", "--reason", "test says stop", cwd=wf_dir)
        assert aborted.returncode == 0, aborted.stderr
        assert "Run 'to-abort' aborted: test says stop" in aborted.stdout
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode != 0
        assert "aborted" in stderr

        detail = cli_json("get", "run", "to-abort", cwd=wf_dir)
        assert detail["run"]["phase"] == "aborted"
        assert detail["run"]["abort_reason"] == "test says stop"
        assert [a["phase"] for a in detail["actions"]] == ["aborted", "aborted"]
        (sleeper,) = by_task(detail["actions"], "insp.sleepy")
        assert sleeper["error_type"] == "ActionAbortedError"
        assert cli_json("get", "runs", "--phase", "aborted", cwd=wf_dir)[0]["name"] == "to-abort"

        again = flyte_cli("abort", "run", "to-abort", cwd=wf_dir)
        assert again.returncode == 1
        assert "Error: Run 'to-abort' is not running" in again.stderr
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_abort_one_action_the_parent_catches_it(wf_dir: Path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flyte.cli.main",
            "run",
            "--local",
            "--name",
            "one-child",
            "wf.py",
            "tolerant_parent",
        ],
        cwd=wf_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ,
    )
    try:

        def sleeper() -> dict[str, Any] | None:
            if flyte_cli("get", "run", "one-child", cwd=wf_dir).returncode != 0:
                return None
            actions = cli_json("get", "run", "one-child", cwd=wf_dir)["actions"]
            running = [a for a in actions if a["task_name"] == "insp.sleepy" and a["phase"] == "running"]
            return running[0] if running else None

        wait_for(lambda: sleeper() is not None)
        child = sleeper()
        assert child is not None
        aborted = flyte_cli(
            "abort", "action", "one-child", child["name"], "--reason", "bad shard", cwd=wf_dir
        )
        assert aborted.returncode == 0, aborted.stderr
        assert f"Action '{child['name']}' of run 'one-child' aborted: bad shard" in aborted.stdout
        stdout, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 0, stdout + stderr

        detail = cli_json("get", "run", "one-child", cwd=wf_dir)
        assert detail["run"]["phase"] == "succeeded"
        phases = {a["name"]: a["phase"] for a in detail["actions"]}
        assert phases[child["name"]] == "aborted"
        assert sorted(phases.values()) == ["aborted", "succeeded", "succeeded", "succeeded"]
        outputs = cli_json("get", "io", "one-child", cwd=wf_dir)["outputs"]["o0"]
        assert outputs.startswith(
            f"caught: Action '{child['name']}' of task 'insp.sleepy' was aborted: bad shard"
        )
        assert outputs.endswith("| woke up | 9")

        again = flyte_cli("abort", "action", "one-child", child["name"], cwd=wf_dir)
        assert again.returncode == 1
        assert "is not running: it ended as aborted" in again.stderr
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
