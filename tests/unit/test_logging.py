"""``flyte.logger`` / ``flyte.system_logger``: shown once on the terminal, recorded with the action."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import flyte
from flyte.remote import Run

env = flyte.TaskEnvironment(name="logging")


@env.task
async def chatty(n: int) -> int:
    flyte.logger.warning("processing %d rows", n)
    return n


SCRIPT = """
import flyte

env = flyte.TaskEnvironment(name="logging_script")


@env.task
async def chatty(n: int) -> int:
    flyte.logger.warning("processing %d rows", n)
    return n


if __name__ == "__main__":
    print(flyte.run(chatty, 7).name)
"""


def test_the_user_logger_reaches_the_terminal_once_and_the_action_logs(tmp_path, monkeypatch):
    (tmp_path / "chatty.py").write_text(SCRIPT)
    home = tmp_path / "home"
    done = subprocess.run(
        [sys.executable, "chatty.py"],
        cwd=tmp_path,
        env={**os.environ, "FLYTE_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("processing 7 rows") == 1, done.stderr
    monkeypatch.setenv("FLYTE_HOME", str(home))
    logs = Run.get(done.stdout.split()[-1]).action.logs()
    assert any("processing 7 rows" in line for line in logs), logs


def test_logging_inside_a_task_is_recorded_with_the_action():
    run = flyte.run(chatty, 8)
    logs = Run.get(run.name).action.logs()
    assert any("processing 8 rows" in line for line in logs), logs


def test_an_application_logging_setup_prints_instead_of_ours(capfd):
    handler = logging.StreamHandler()
    logging.getLogger().addHandler(handler)
    try:
        flyte.logger.warning("configured elsewhere")
    finally:
        logging.getLogger().removeHandler(handler)
    assert capfd.readouterr().err.count("configured elsewhere") == 1


def test_loggers_and_subpackages_are_reachable_after_a_bare_import():
    assert isinstance(flyte.logger, logging.Logger) and isinstance(flyte.system_logger, logging.Logger)
    assert flyte.logger is not flyte.system_logger
    assert flyte.errors.RuntimeUserError.__name__ == "RuntimeUserError"
    assert flyte.models.ActionPhase.SUCCEEDED.value == "succeeded"
    assert "errors" in dir(flyte)
