"""Deploying to a devbox started by the test: versions, a no-op redeploy, a deployed task called
from a new run through ``flyte.remote.Task.get``, wrong inputs refused before any run, and a
one-minute ``FixedRate`` trigger firing every second at ``--trigger-time-scale 60``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import flyte
import flyte.errors
import flyte.remote
from flyte._internal.loader import load_module
from flyte.remote._remote_run import client_from_config

from .conftest import Devbox

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def cli(devbox: Devbox, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = devbox.env(FLYTE_HOME=str(project / "client-home"))
    cmd = [sys.executable, "-m", "flyte.cli.main", "--endpoint", devbox.endpoint, *args]
    return subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=120)


def cli_json(devbox: Devbox, project: Path, *args: str) -> Any:
    done = cli(devbox, project, *args, "-of", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def eventually(check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def deployed(devbox: Devbox, project: Path) -> list[dict[str, Any]]:
    """``flyte deploy wf.py app``: the tasks of app and of base, which it depends on."""
    return cli_json(devbox, project, "deploy", "wf.py", "app")


def test_deploy_registers_the_environment_and_its_dependencies(
    devbox: Devbox, project: Path, deployed: list[dict[str, Any]]
) -> None:
    by_name = {t["name"]: t for t in deployed}
    assert set(by_name) == {"base.square", "app.tick", "app.calls_current", "app.main"}
    assert all(t["created"] for t in deployed)
    assert len({t["version"] for t in deployed}) == 1
    square = by_name["base.square"]["spec"]
    assert square["task"]["retries"] == 2
    assert square["task"]["resources"]["cpu"] == 1
    assert square["task"]["cache"]["behavior"] == "auto"
    assert by_name["app.main"]["spec"]["task"]["env_vars"] == {"GREETING": "hi"}
    assert [i["name"] for i in square["interface"]["inputs"]] == ["x", "offset"]
    # an unchanged redeploy is a no-op under the same version
    again = cli_json(devbox, project, "deploy", "wf.py", "app")
    assert {t["version"] for t in again} == {deployed[0]["version"]}
    assert not any(t["created"] for t in again)
    listed = cli_json(devbox, project, "get", "task", "base.square")
    assert [t["version"] for t in listed] == [deployed[0]["version"]]
    # an explicit version adds one; both are listed, newest first
    v2 = cli(devbox, project, "deploy", "--version", "v2", "wf.py", "base")
    assert v2.returncode == 0, v2.stdout + v2.stderr
    assert "registered" in v2.stdout
    listed = cli_json(devbox, project, "get", "task", "base.square")
    assert [t["version"] for t in listed] == ["v2", deployed[0]["version"]]
    table = cli(devbox, project, "get", "task")
    assert table.returncode == 0 and "base.square" in table.stdout and "app.tick" in table.stdout
    one = cli(devbox, project, "get", "task", "base.square", "--version", "v2")
    assert one.returncode == 0, one.stderr
    assert "required:     x" in one.stdout and "defaults:     offset" in one.stdout
    yaml_out = cli(devbox, project, "get", "task", "base.square", "-of", "yaml")
    assert yaml_out.returncode == 0 and "version: v2" in yaml_out.stdout


def test_a_dry_run_registers_nothing(devbox: Devbox, project: Path, deployed: list[dict[str, Any]]) -> None:
    dry = cli(devbox, project, "deploy", "--dry-run", "--version", "dry", "wf.py", "base")
    assert dry.returncode == 0, dry.stderr
    assert "Would register 1 task(s) of base" in dry.stdout
    assert "square  (x: int, offset: int = 0)" in dry.stdout
    listed = cli_json(devbox, project, "get", "task", "base.square")
    assert "dry" not in [t["version"] for t in listed]


def test_a_deployed_task_is_called_from_a_new_run(
    devbox: Devbox, project: Path, deployed: list[dict[str, Any]]
) -> None:
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key, root_dir=project)
    caller = load_module(str(project / "caller.py"), project)
    run = flyte.run(caller.use_deployed, x=3)
    assert run.outputs() == (10,)
    child = [a for a in run.actions() if a.task_name == "base.square"]
    assert len(child) == 1 and child[0].phase.value == "succeeded"
    assert flyte.run(caller.use_overridden, x=4).outputs() == (16,)
    # the reference is also a task of its own for flyte.run, and describes itself
    ref = flyte.remote.Task.get("base.square", version=deployed[0]["version"])
    details = ref.fetch()
    assert details.required_args == ("x",)
    assert details.default_input_args == ("offset",)
    assert details.interface.inputs["offset"][1] == 0
    assert details.retries == 2 and details.resources["cpu"] == 1
    assert details.cache.behavior == "override"  # the deployed code's cache version, fixed
    assert flyte.run(ref, x=5, offset=2).outputs() == (27,)
    # a deployed task sees its version, and finds the tasks deployed with it by that version
    version = deployed[0]["version"]
    current = flyte.remote.Task.get("app.calls_current", version=version)
    assert flyte.run(current, x=2).outputs() == (f"4@{version}",)


def test_wrong_inputs_fail_before_the_run(
    devbox: Devbox, project: Path, deployed: list[dict[str, Any]]
) -> None:
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key, root_dir=project)
    before = len(client_from_config().call("GET", "/api/v1/runs", params={"limit": 1000}))
    ref = flyte.remote.Task.get("base.square", auto_version="latest")
    with pytest.raises(TypeError, match=r"unexpected input 'y'; its inputs are: x, offset"):
        flyte.run(ref, y=1)
    with pytest.raises(flyte.errors.RuntimeDataValidationError, match=r"'x'"):
        flyte.run(ref, x="three")
    with pytest.raises(flyte.errors.RuntimeDataValidationError, match=r"'x'.*missing required input"):
        flyte.run(ref)
    assert len(client_from_config().call("GET", "/api/v1/runs", params={"limit": 1000})) == before
    with pytest.raises(flyte.errors.RemoteTaskNotFoundError, match="base.nope"):
        flyte.remote.Task.get("base.nope", auto_version="latest").fetch()
    # inside a task, the wrong call fails the caller before a child action exists
    caller = load_module(str(project / "caller.py"), project)
    run = flyte.run(caller.wrong_call)
    with pytest.raises(Exception, match=r"unexpected input 'y'"):
        run.outputs()
    assert [a.task_name for a in run.actions()] == ["caller.wrong_call"]


def _trigger_runs(devbox: Devbox) -> list[dict[str, Any]]:
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key)
    return client_from_config().call(
        "GET", "/api/v1/runs", params={"label": "trigger=every_minute", "limit": 1000}
    )


def test_a_fixed_rate_trigger_fires_every_second_at_scale_60(
    devbox: Devbox, project: Path, deployed: list[dict[str, Any]]
) -> None:
    listed = cli_json(devbox, project, "get", "trigger", "app.tick")
    assert [(t["name"], t["active"]) for t in listed] == [("every_minute", False)]
    done = cli(devbox, project, "update", "trigger", "every_minute", "app.tick", "--activate")
    assert done.returncode == 0 and "now active" in done.stdout, done.stderr
    succeeded = eventually(
        lambda: [r for r in _trigger_runs(devbox) if r["phase"] == "succeeded"][1:] or None
    )
    assert succeeded[0]["task_name"] == "app.tick"
    done = cli(devbox, project, "update", "trigger", "every_minute", "app.tick", "--deactivate")
    assert done.returncode == 0 and "now inactive" in done.stdout, done.stderr
    fired = cli_json(devbox, project, "get", "trigger", "app.tick", "every_minute")
    assert fired["active"] is False
    ticks = [f["scheduled_at"] for f in fired["fires"]]
    assert len(ticks) >= 2
    assert all(
        b - a == 60 for a, b in zip(ticks, ticks[1:], strict=False)
    )  # one minute of trigger time apart
    # each fire is a run of the deployed task with its scheduled time as input
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key)
    first = flyte.remote.Run.get(fired["fires"][0]["run_name"])
    assert (
        first.outputs()[0]
        == f"tick@{datetime.fromisoformat(first.record.labels['trigger_time']).isoformat()}"
    )
    time.sleep(2.5)  # two and a half minutes of trigger time: an active trigger would have fired twice more
    assert len(cli_json(devbox, project, "get", "trigger", "app.tick", "every_minute")["fires"]) == len(ticks)


def test_deleting_a_trigger_stops_it_and_a_deploy_declares_it_again(
    devbox: Devbox, project: Path, deployed: list[dict[str, Any]]
) -> None:
    table = cli(devbox, project, "get", "trigger")
    assert table.returncode == 0 and "every_minute" in table.stdout and "app.tick" in table.stdout
    done = cli(devbox, project, "delete", "trigger", "every_minute", "app.tick")
    assert done.returncode == 0 and "deleted" in done.stdout, done.stderr
    assert cli_json(devbox, project, "get", "trigger", "app.tick") == []
    gone = cli(devbox, project, "update", "trigger", "every_minute", "app.tick", "--activate")
    assert gone.returncode == 1 and "no trigger named 'every_minute'" in gone.stderr
    cli_json(devbox, project, "deploy", "wf.py", "app")
    again = cli_json(devbox, project, "get", "trigger", "app.tick")
    assert [(t["name"], t["active"]) for t in again] == [("every_minute", False)]
