"""``pyflyte register`` against a devbox the test starts (``flyte start devbox --trigger-time-scale
60``): the program's tasks and workflow become deployed task versions, the deployed workflow runs
with flytekit's outputs, and a ``FixedRate(minutes=1)`` launch plan fires every second until it is
deactivated."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import flyte
import flyte.remote
from _services import Devbox, cli_args, running_devbox
from flyte.remote._remote_run import client_from_config

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

PROGRAMS = Path(__file__).resolve().parent / "programs"


@pytest.fixture(scope="module")
def devbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devbox]:
    # PYTHONPATH names compat/flytekit (conftest), so the devbox's workers import this layer too
    home = tmp_path_factory.mktemp("devbox-home")
    with running_devbox(home, cli_args("--trigger-time-scale", "60")) as box:
        yield box


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, devbox: Devbox) -> Path:
    """A directory with the program and a ``.flyte/config.yaml`` naming the devbox."""
    root = tmp_path_factory.mktemp("project")
    shutil.copy(PROGRAMS / "scheduled.py", root / "scheduled.py")
    made = subprocess.run(
        [sys.executable, "-m", "flyte.cli.main", "create", "config", "--devbox"],
        cwd=root,
        env=dict(os.environ, FLYTE_HOME=str(devbox.home)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    return root


def _cli(project: Path, module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=project,
        env=dict(os.environ, FLYTE_HOME=str(project / "client-home")),
        capture_output=True,
        text=True,
        timeout=120,
    )


def pyflyte(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _cli(project, "flytekit.clis.sdk_in_container.pyflyte", *args)


def flyte_json(project: Path, *args: str) -> Any:
    done = _cli(project, "flyte.cli.main", *args, "-of", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def registered(project: Path) -> str:
    """``pyflyte register scheduled.py``: its output."""
    done = pyflyte(project, "register", "scheduled.py")
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def eventually(check: Any, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.3)


def test_register_deploys_every_task_and_the_workflow(project: Path, registered: str) -> None:
    assert "[✔] TASK scheduled.stamp version" in registered
    assert "[✔] WORKFLOW scheduled.ticker version" in registered
    assert "(registered)" in registered and "(unchanged)" not in registered
    assert "LAUNCH_PLAN every_minute: trigger on scheduled.ticker, every 1 min, inactive" in registered
    assert "LAUNCH_PLAN adhoc of scheduled.ticker: no schedule" in registered
    tasks = flyte_json(project, "get", "task")
    names = {t["name"] for t in tasks}
    assert {"scheduled.stamp", "scheduled.shout", "scheduled.ticker"} <= names
    # the launch plans' schedules are triggers of the workflow's task, named after them, with
    # flytekit's activation: inactive unless auto_activate=True
    triggers = flyte_json(project, "get", "trigger", "scheduled.ticker")
    assert sorted((t["name"], t["active"]) for t in triggers) == [
        ("every_minute", False),
        ("scheduled.yearly", True),
    ]
    # registering unchanged code again is a no-op, as for flyte deploy
    again = pyflyte(project, "register", "scheduled.py")
    assert again.returncode == 0, again.stderr
    assert "(unchanged)" in again.stdout and "(registered)" not in again.stdout
    # pyflyte package is the dry run: same versions, nothing new
    dry = pyflyte(project, "package", "scheduled.py")
    assert dry.returncode == 0, dry.stderr
    assert "[dry run] WORKFLOW scheduled.ticker version" in dry.stdout and "no package file" in dry.stdout


def test_the_deployed_workflow_runs_with_flytekit_outputs(
    devbox: Devbox, project: Path, registered: str
) -> None:
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key, root_dir=project)
    ticker = flyte.remote.Task.get("scheduled.ticker", auto_version="latest")
    run = flyte.run(ticker, label="hi", when=datetime(2024, 5, 6), times=3)
    assert run.outputs() == ("HI@2024-05-06T00:00:00!HI@2024-05-06T00:00:00!HI@2024-05-06T00:00:00",)
    assert sorted(a.task_name for a in run.actions()) == [
        "scheduled.shout",
        "scheduled.stamp",
        "scheduled.ticker",
    ]
    ran = pyflyte(project, "run", "--remote", "--wait", "scheduled.py", "adhoc")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "o0: NOW@2024-01-01T00:00:00" in ran.stdout


def _fires(devbox: Devbox) -> list[dict[str, Any]]:
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key)
    return client_from_config().call(
        "GET", "/api/v1/runs", params={"label": "trigger=every_minute", "limit": 1000}
    )


def test_a_fixed_rate_launch_plan_fires_until_deactivated(
    devbox: Devbox, project: Path, registered: str
) -> None:
    done = pyflyte(project, "launchplan", "--activate", "every_minute")
    assert done.returncode == 0 and "now active" in done.stdout, done.stdout + done.stderr
    succeeded = eventually(lambda: [r for r in _fires(devbox) if r["phase"] == "succeeded"][1:] or None)
    assert {r["task_name"] for r in succeeded} == {"scheduled.ticker"}
    stop = _cli(
        project, "flyte.cli.main", "update", "trigger", "every_minute", "scheduled.ticker", "--deactivate"
    )
    assert stop.returncode == 0 and "now inactive" in stop.stdout, stop.stderr
    state = flyte_json(project, "get", "trigger", "scheduled.ticker", "every_minute")
    assert state["active"] is False
    ticks = [f["scheduled_at"] for f in state["fires"]]
    assert len(ticks) >= 2 and all(b - a == 60 for a, b in zip(ticks, ticks[1:], strict=False))
    # each fire ran the workflow with the launch plan's inputs: the default label, the fixed
    # times=2 and the scheduled time as the kickoff input
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key)
    for fire in state["fires"][:2]:
        run = flyte.remote.Run.get(fire["run_name"])
        run.wait()
        when = datetime.fromisoformat(run.record.labels["trigger_time"]).isoformat()
        assert run.outputs() == (f"TICK@{when}!TICK@{when}",)
    time.sleep(2.5)  # two and a half minutes of trigger time: an active trigger would fire again
    after = flyte_json(project, "get", "trigger", "scheduled.ticker", "every_minute")
    assert len(after["fires"]) == len(ticks)


def test_activation_on_register_and_an_active_schedule_stays_active(project: Path, registered: str) -> None:
    def active() -> dict[str, bool]:
        return {t["name"]: t["active"] for t in flyte_json(project, "get", "trigger", "scheduled.ticker")}

    assert active()["every_minute"] is False
    done = pyflyte(project, "register", "--activate-launchplans", "scheduled.py")
    assert done.returncode == 0, done.stderr
    assert "LAUNCH_PLAN every_minute: trigger on scheduled.ticker, every 1 min, active" in done.stdout
    assert active()["every_minute"] is True
    # registering again without the flag does not stop a running schedule (as in flytekit)
    again = pyflyte(project, "register", "scheduled.py")
    assert again.returncode == 0, again.stderr
    assert "LAUNCH_PLAN every_minute: trigger on scheduled.ticker, every 1 min, active" in again.stdout
    assert active() == {"every_minute": True, "scheduled.yearly": True}
    stop = pyflyte(project, "launchplan", "--deactivate", "every_minute")
    assert stop.returncode == 0 and "now inactive" in stop.stdout, stop.stderr
    assert active()["every_minute"] is False
    missing = pyflyte(project, "launchplan", "--activate", "nope")
    assert missing.returncode != 0 and "no scheduled launch plan named 'nope'" in missing.stderr
