"""A devbox restarted under a running trigger: the ticks missed while it was down fire once (the
latest of them), then the schedule goes on; no tick fires twice."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from _services import cli_args, running_devbox

from .conftest import WORKFLOW

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def _cli(endpoint: str, key: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, FLYTE_API_KEY=key, FLYTE_HOME=str(cwd / "client-home"))
    cmd = [sys.executable, "-m", "flyte.cli.main", "--endpoint", endpoint, *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _fires(endpoint: str, key: str) -> list[float]:
    r = httpx.get(
        f"{endpoint}/api/v1/triggers/app.tick/every_minute/fires",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    r.raise_for_status()
    return [f["scheduled_at"] for f in r.json()]


def _wait_for(check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)
    return found


def test_missed_ticks_fire_once_after_the_devbox_restarts(tmp_path: Path) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    project.mkdir()
    (project / "wf.py").write_text(WORKFLOW)
    with running_devbox(home, cli_args("--trigger-time-scale", "60")) as box:
        assert _cli(box.endpoint, box.api_key, project, "deploy", "wf.py", "app").returncode == 0
        done = _cli(
            box.endpoint, box.api_key, project, "update", "trigger", "every_minute", "app.tick", "--activate"
        )
        assert done.returncode == 0, done.stderr
        before = _wait_for(lambda: len(fires := _fires(box.endpoint, box.api_key)) >= 1 and fires)
    time.sleep(4)  # four minutes of trigger time go by with no server
    with running_devbox(home, cli_args("--trigger-time-scale", "60")) as box:
        after = _wait_for(
            lambda: len(fires := _fires(box.endpoint, box.api_key)) >= len(before) + 2 and fires
        )
        _cli(
            box.endpoint,
            box.api_key,
            project,
            "update",
            "trigger",
            "every_minute",
            "app.tick",
            "--deactivate",
        )
    gaps = [b - a for a, b in zip(after, after[1:], strict=False)]
    assert all(gap % 60 == 0 and gap > 0 for gap in gaps)  # every fire a distinct tick of the schedule
    downtime = [gap for gap in gaps if gap > 60]
    assert len(downtime) == 1 and downtime[0] >= 4 * 60  # the missed ticks: skipped, one fire for them
