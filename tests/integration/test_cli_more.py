"""`flyte get config`, `whoami`, `get|create project`, `get|stop devbox`, `start tui` and every
command's `--help`, as a user sees them; the devbox ones against a real devbox the test starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner, Result

from _services import Devbox, cli_args, running_devbox
from flyte.cli.main import main

pytestmark = pytest.mark.integration

SECRET_KEY = "fk_this-value-must-never-be-printed"


@pytest.fixture(autouse=True)
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory and a home directory with no config file in them."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))
    for var in ("FLYTE_ADMIN_ENDPOINT", "FLYTE_ADMIN_API_KEY", "FLYTE_TASK_PROJECT", "FLYTE_TASK_DOMAIN"):
        monkeypatch.delenv(var, raising=False)
    return work


def flyte(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def write_config(path: Path, **admin: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"admin": admin, "task": {"project": "ml", "domain": "development"}}))
    return path


# -- flyte get config ---------------------------------------------------------------------------


def test_get_config_without_a_file_is_local_mode():
    result = flyte("get", "config")
    assert result.exit_code == 0, result.output
    assert "Config file:  none" in result.output
    assert "local mode" in result.output
    assert "API key:      none" in result.output


def test_get_config_names_the_file_found_in_the_current_directory(elsewhere: Path):
    write_config(elsewhere / ".flyte" / "config.yaml", endpoint="http://127.0.0.1:9", api_key=SECRET_KEY)
    result = flyte("get", "config")
    assert result.exit_code == 0, result.output
    assert str(elsewhere / ".flyte" / "config.yaml") in result.output
    assert "./.flyte/config.yaml in the current directory" in result.output
    assert "http://127.0.0.1:9  (from config file admin.endpoint)" in result.output
    assert "ml  (from config file task.project)" in result.output
    assert "from config file admin.api_key (id " in result.output
    assert SECRET_KEY not in result.output


def test_get_config_explains_explicit_file_env_var_and_endpoint_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    explicit = write_config(tmp_path / "prod.yaml", endpoint="http://127.0.0.1:7")
    data = json.loads(flyte("-c", str(explicit), "get", "config", "-of", "json").output)
    assert data["config_file"] == str(explicit)
    assert data["config_reason"] == "given with -c/--config"
    assert data["mode"] == "remote" and data["endpoint"] == "http://127.0.0.1:7"
    assert data["api_key_source"] is None

    monkeypatch.setenv("FLYTE_CONFIG", str(explicit))
    monkeypatch.setenv("FLYTE_API_KEY", SECRET_KEY)
    result = flyte("--endpoint", "http://127.0.0.1:8", "get", "config", "-of", "json")
    data = json.loads(result.output)
    assert data["config_reason"] == "$FLYTE_CONFIG"
    assert (data["endpoint"], data["endpoint_source"]) == ("http://127.0.0.1:8", "--endpoint")
    assert data["api_key_source"] == "$FLYTE_API_KEY"
    assert SECRET_KEY not in result.output


def test_get_config_yaml_and_missing_explicit_file(tmp_path: Path):
    data = yaml.safe_load(flyte("-of", "yaml", "get", "config").output)
    assert data["mode"] == "local" and data["config_file"] is None
    result = CliRunner().invoke(main, ["-c", str(tmp_path / "nope.yaml"), "get", "config"])
    assert result.exit_code == 1
    assert "does not exist" in result.output


# -- flyte whoami, flyte start tui ----------------------------------------------------------------


def test_whoami_locally_names_the_os_user():
    import getpass

    result = flyte("whoami")
    assert result.exit_code == 0, result.output
    assert f"User:  {getpass.getuser()}" in result.output
    assert "local (no control plane)" in result.output
    assert json.loads(flyte("whoami", "-of", "json").output)["mode"] == "local (no control plane)"


def test_start_tui_points_to_the_live_tree_commands():
    result = flyte("start", "tui")
    assert result.exit_code == 0
    assert result.output.count("\n") == 1
    assert "flyte run" in result.output and "flyte get run NAME" in result.output


# -- flyte create project / get project ---------------------------------------------------------


def test_projects_are_created_listed_and_shown(isolated_home: Path):
    assert "No projects yet" in flyte("get", "project").output
    result = flyte(
        "create", "project", "--id", "ml", "--name", "Machine learning", "-l", "team=ml", "-l", "env=dev"
    )
    assert result.exit_code == 0 and "Project ml created." in result.output
    flyte("create", "project", "--id", "etl", "--name", "ETL", "--description", "Nightly loads")

    table = flyte("get", "project").output.splitlines()
    assert table[0].split() == ["ID", "NAME", "DESCRIPTION", "LABELS", "CREATED"]
    assert table[1].startswith("ml ") and "team=ml, env=dev" in table[1]
    assert table[2].startswith("etl ") and "Nightly loads" in table[2]

    listed = json.loads(flyte("get", "project", "-of", "json").output)
    assert [p["id"] for p in listed] == ["ml", "etl"]
    assert listed[0]["labels"] == {"team": "ml", "env": "dev"}

    one = yaml.safe_load(flyte("get", "project", "etl", "-of", "yaml").output)
    assert (one["name"], one["description"]) == ("ETL", "Nightly loads")
    assert "Name:         Machine learning" in flyte("get", "project", "ml").output
    assert (isolated_home / "projects.json").is_file()


def test_project_errors_are_one_line_and_exit_1():
    flyte("create", "project", "--id", "ml", "--name", "ML")
    for args, expected in [
        (["create", "project", "--id", "ml", "--name", "Again"], "Project 'ml' already exists"),
        (["create", "project", "--id", "Bad Id!", "--name", "x"], "Invalid project id 'Bad Id!'"),
        (["get", "project", "nope"], "Project 'nope' not found (projects: ml)"),
    ]:
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, result.output
        assert expected in result.output
    bad_label = CliRunner().invoke(main, ["create", "project", "--id", "x", "--name", "x", "-l", "novalue"])
    assert bad_label.exit_code == 2 and "expected key=value" in bad_label.output


# -- devbox: get, second start, whoami against it, stop ---------------------------------------------


@pytest.fixture
def devbox(isolated_home: Path) -> Iterator[Devbox]:
    """`flyte start devbox --port 0 --workers 1` in a subprocess; stopped at the end whatever happens."""
    with running_devbox(isolated_home, cli_args(workers=1)) as box:
        yield box


def test_devbox_get_second_start_whoami_and_stop(devbox: Devbox, elsewhere: Path):
    shown = flyte("get", "devbox")
    assert shown.exit_code == 0, shown.output
    assert "Devbox:    running" in shown.output
    assert f"Endpoint:  {devbox.endpoint}" in shown.output
    assert f"PID:       {devbox.proc.pid}" in shown.output
    api_key = json.loads((devbox.home / "devbox.json").read_text())["api_key"]
    assert api_key not in shown.output
    data = json.loads(flyte("get", "devbox", "-of", "json").output)
    assert data["running"] is True and data["pid"] == devbox.proc.pid and data["endpoint"] == devbox.endpoint

    second = subprocess.run(
        [sys.executable, "-m", "flyte.cli.main", "start", "devbox", "--port", "0"],
        capture_output=True, text=True, timeout=60, env=dict(os.environ),
    )  # fmt: skip
    assert second.returncode == 1
    assert second.stderr.strip().count("\n") == 0
    assert f"A devbox is already running at {devbox.endpoint} (pid {devbox.proc.pid}" in second.stderr
    assert "Address already in use" not in second.stderr

    assert flyte("create", "config", "--devbox").exit_code == 0
    who = flyte("whoami")
    assert who.exit_code == 0, who.output
    assert "Mode:      remote" in who.output
    assert f"Endpoint:  {devbox.endpoint}" in who.output
    assert "API key:   devbox (id " in who.output
    assert api_key not in who.output
    assert json.loads(flyte("whoami", "-of", "json").output)["key_name"] == "devbox"

    stopped = flyte("stop", "devbox")
    assert stopped.exit_code == 0, stopped.output
    assert f"Stopped the devbox at {devbox.endpoint} (pid {devbox.proc.pid})." in stopped.output
    assert devbox.proc.wait(30) == 0  # a clean exit, not killed by the signal
    assert "Application shutdown complete" in devbox.log.read_text()
    record = json.loads((devbox.home / "devbox.json").read_text())
    assert "pid" not in record and record["api_key"] == api_key  # the key is kept for the next start

    assert "Devbox:    not running" in flyte("get", "devbox").output
    assert flyte("stop", "devbox").output.strip() == f"No devbox is running (last at {devbox.endpoint})."


def test_get_and_stop_devbox_when_there_is_none():
    assert "No devbox:" in flyte("get", "devbox").output
    assert json.loads(flyte("get", "devbox", "-of", "json").output)["running"] is False
    result = flyte("stop", "devbox")
    assert result.exit_code == 0 and result.output.strip() == "No devbox is running."


# -- --help ----------------------------------------------------------------------------------------


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


def test_every_command_has_a_summary_and_an_example():
    paths = list(_commands(main))
    assert ("whoami",) in paths and ("stop", "devbox") in paths and ("get", "config") in paths
    for path in paths:
        result = flyte(*path, "--help")
        assert result.exit_code == 0, path
        body = result.output.split("\n\n")
        assert body[1].strip(), f"flyte {' '.join(path)} --help has no summary"
        assert "Examples:" in result.output, f"flyte {' '.join(path)} --help has no example"
        assert f"flyte {path[0]}" in result.output.split("Examples:", 1)[1], path


def test_start_devbox_on_a_port_in_use_says_so_in_one_line():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "flyte.cli.main", "start", "devbox", "--port", str(port), "--workers", "1"],
            capture_output=True, text=True, timeout=60, env=dict(os.environ),
        )  # fmt: skip
    assert result.returncode == 1
    assert f"Error: Port {port} on 127.0.0.1 is in use by another program" in result.stderr
    assert result.stderr.strip().count("\n") == 0
