"""Conditions of local runs: a run pauses on ``flyte.new_condition`` and is answered from another
process (``flyte signal condition``), from the CLI in this process, or by ``flyte.remote.Condition``;
timeouts, wrong types, sync tasks and ``--recover`` as a user meets them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import flyte
import flyte.errors
from flyte._internal.loader import load_module
from flyte.cli.main import main
from flyte.remote._condition import Condition

from .conftest import Hooks

pytestmark = pytest.mark.integration
SRC = str(Path(__file__).resolve().parents[2] / "src")


def _run_in_subprocess(project: Path, task: str, args: str, name: str, hooks: Hooks | None = None) -> Any:
    code = (
        "import json, flyte, hitl_wf\n"
        f"flyte.init(root_dir={str(project)!r})\n"
        f"run = flyte.with_runcontext(name={name!r}).run(hitl_wf.{task}, {args})\n"
        "print('OUTPUTS', json.dumps(run.outputs()))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, str(project)]))
    if hooks is not None:
        env["HOOKS_URL"] = hooks.url
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _flyte(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=SRC)
    return subprocess.run(
        [sys.executable, "-m", "flyte.cli.main", *args], env=env, capture_output=True, text=True, timeout=60
    )


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _wait_for_condition(run: str, name: str, proc: Any = None, timeout: float = 60) -> Condition:
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = Condition.get(name, run_name=run)
        except Exception:  # the run is not recorded yet
            found = None
        if found is not None:
            return found
        if proc is not None and proc.poll() is not None:
            raise AssertionError(proc.communicate())
        assert time.monotonic() < deadline, f"condition {name} of {run} did not appear"
        time.sleep(0.05)


def test_a_paused_run_is_answered_by_flyte_signal_from_another_process(project: Path, hooks: Hooks) -> None:
    proc = _run_in_subprocess(project, "add_approved", "1", "hitl-local-1", hooks)
    try:
        cond = _wait_for_condition("hitl-local-1", "bump", proc)
        assert cond.phase == "PAUSED" and cond.expected_type is int and cond.prompt == "How much to add?"

        shown = _flyte("get", "action", "hitl-local-1", "-of", "json")
        assert shown.returncode == 0, shown.stderr
        phases = {a["task_name"]: a["phase"] for a in json.loads(shown.stdout)}
        assert phases == {"hitl.add_approved": "running", "condition:bump": "paused"}

        listed = _flyte("get", "condition", "hitl-local-1")
        assert listed.returncode == 0, listed.stderr
        assert "bump" in listed.stdout and "paused" in listed.stdout and "int" in listed.stdout

        # the webhook announced the condition, with how to answer it
        [announced] = hooks.wait_for("/condition")
        assert announced["json"] == {
            "answer_at": f"flyte signal condition hitl-local-1 {cond.action_name} VALUE",
            "what": "bump",
        }

        answered = _flyte("signal", "condition", "hitl-local-1", "bump", "41")
        assert answered.returncode == 0, answered.stderr
        assert "answered with 41" in answered.stdout
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "OUTPUTS [42]" in out

    shown = json.loads(_flyte("get", "condition", "hitl-local-1", "-of", "json").stdout)
    assert [(c["name"], c["phase"], c["value"], c["resolved_by"]) for c in shown] == [
        ("bump", "succeeded", 41, "flyte signal")
    ]
    again = _flyte("signal", "condition", "hitl-local-1", "bump", "5")
    assert again.returncode == 1
    assert "was already answered with 41" in again.stderr


def test_a_value_of_the_wrong_type_is_refused_naming_the_condition_and_its_type(project: Path) -> None:
    proc = _run_in_subprocess(project, "add_approved", "10", "hitl-local-2")
    try:
        cond = _wait_for_condition("hitl-local-2", "bump", proc)
        wrong = _cli("signal", "condition", "hitl-local-2", cond.action_name, "three")
        assert wrong.exit_code == 1
        assert "condition 'bump' expects an int value, got 'three'" in wrong.output
        with pytest.raises(flyte.errors.RuntimeDataValidationError, match="condition 'bump' expects an int"):
            cond.signal(2.5)
        with pytest.raises(flyte.errors.RuntimeDataValidationError, match="expects an int"):
            cond.signal(True)
        assert Condition.get("bump", run_name="hitl-local-2").phase == "PAUSED"  # nothing was recorded
        cond.signal("7")  # text is parsed as the condition's type
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert "OUTPUTS [17]" in out, err


def test_a_timed_out_condition_raises_condition_timed_out_error_that_a_parent_catches(project: Path) -> None:
    flyte.init(root_dir=project)
    wf = load_module(str(project / "hitl_wf.py"), project)
    run = flyte.with_runcontext(name="hitl-local-3").run(wf.guarded, 0.3)
    assert run.outputs() == ("caught ConditionTimedoutError",)
    [cond] = Condition.listall(run_name="hitl-local-3")
    assert (cond.name, cond.phase, cond.value) == ("approve", "TIMED_OUT", None)
    actions = json.loads(_cli("get", "action", "hitl-local-3", "-of", "json").output)
    by_task = {a["task_name"]: a for a in actions}
    assert by_task["condition:approve"]["phase"] == "timed_out"
    assert by_task["hitl.gate"]["phase"] == "failed"
    assert by_task["hitl.gate"]["error_type"] == "ConditionTimedoutError"
    assert by_task["condition:approve"]["error_type"] == "ConditionTimedoutError"

    with pytest.raises(flyte.errors.ConditionTimedoutError, match="not signaled within its timeout of 0.3s"):
        flyte.with_runcontext(name="hitl-local-4").run(wf.gate, 0.3)
    late = _cli("signal", "condition", "hitl-local-4", "approve", "true")
    assert late.exit_code == 1 and "has ended (timed_out" in late.output


def test_a_sync_task_waits_on_a_condition_answered_through_flyte_remote(project: Path) -> None:
    flyte.init(root_dir=project)
    wf = load_module(str(project / "hitl_wf.py"), project)

    def answer() -> None:
        _wait_for_condition("hitl-local-5", "note").signal("because")

    helper = threading.Thread(target=answer)
    helper.start()
    run = flyte.with_runcontext(name="hitl-local-5").run(wf.sync_note)
    helper.join()
    assert run.outputs() == ("note: because",)


def test_recovering_a_run_replays_an_answered_condition_instead_of_asking_again(
    project: Path, tmp_path: Path
) -> None:
    flyte.init(root_dir=project)
    wf = load_module(str(project / "hitl_wf.py"), project)
    marker = tmp_path / "marker"

    def answer() -> None:
        _wait_for_condition("hitl-local-6", "bump2").signal(99)

    helper = threading.Thread(target=answer)
    helper.start()
    with pytest.raises(RuntimeError, match="marker missing"):
        flyte.with_runcontext(name="hitl-local-6").run(wf.approve_then_check, str(marker))
    helper.join()
    marker.touch()
    again = flyte.rerun("hitl-local-6", recover=True, name="hitl-local-7")  # nobody answers this time
    assert again.outputs() == (99,)
    [cond] = Condition.listall(run_name="hitl-local-7")
    assert (cond.phase, cond.value, cond.record.resolved_by) == (
        "SUCCEEDED", 99, "recovered from run 'hitl-local-6'",
    )  # fmt: skip


def test_outside_a_task_a_condition_is_only_a_description() -> None:
    from flyte._condition import ConditionWebhook, new_condition

    cond = new_condition(
        "later", prompt="?", data_type=float, timeout=5, webhook=ConditionWebhook("http://x")
    )
    assert (cond.name, cond.data_type, cond.action_name) == ("later", float, None)
    with pytest.raises(flyte.errors.NotInTaskContextError, match="inside the task that created it"):
        cond.wait()
    with pytest.raises(TypeError, match="data_type must be one of bool, int, float, str"):
        new_condition("bad", data_type=list)
    with pytest.raises(ValueError, match="timeout must be positive"):
        new_condition("bad", timeout=0)
