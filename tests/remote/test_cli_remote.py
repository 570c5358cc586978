"""The CLI against a control plane: ``flyte create config``, and following, aborting and
rerunning runs (the helpers ``flyte run`` / ``abort run`` / ``rerun`` call)."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner, Result

import flyte
import flyte.cli._remote as remote_cli
from flyte._initialize import get_init_config
from flyte._internal.loader import load_module
from flyte.cli.main import cli

from .conftest import FakeServer


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def in_click(call: Any) -> Result:
    """Run ``call()`` as a click command (the helpers print and exit like commands do)."""
    return CliRunner().invoke(click.command()(lambda: call()), [], catch_exceptions=False)


def test_create_config_for_the_devbox(
    isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "devbox.json").write_text(
        json.dumps({"endpoint": "http://127.0.0.1:9", "api_key": "k1"})
    )
    result = invoke("create", "config", "--devbox")
    assert result.exit_code == 0, result.output
    assert "with an API key" in result.output and "k1" not in result.output
    path = tmp_path / ".flyte" / "config.yaml"
    assert yaml.safe_load(path.read_text()) == {"admin": {"endpoint": "http://127.0.0.1:9", "api_key": "k1"}}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # the config is what flyte.init_from_config (and so `flyte run`) picks up
    flyte.init_from_config()
    assert get_init_config().endpoint == "http://127.0.0.1:9" and get_init_config().api_key == "k1"


def test_create_config_for_an_endpoint_keeps_other_settings(tmp_path: Path) -> None:
    path = tmp_path / "conf.yaml"
    path.write_text("admin:\n  endpoint: http://old\n  api_key: old\ntask:\n  project: p\n")
    path.chmod(0o644)
    result = invoke(
        "create", "config", "--endpoint", "https://cp.example", "--domain", "dev", "-o", str(path)
    )
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(path.read_text()) == {
        "admin": {"endpoint": "https://cp.example"},
        "task": {"project": "p", "domain": "dev"},
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_create_config_needs_exactly_one_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert "Give either --devbox or --endpoint" in CliRunner().invoke(cli, ["create", "config"]).output
    missing = CliRunner().invoke(cli, ["create", "config", "--devbox"])
    assert missing.exit_code == 1 and "flyte start devbox" in missing.output


def test_remote_is_chosen_when_a_config_names_an_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert in_click(lambda: print(remote_configured_now())).output.strip() == "False"
    (tmp_path / ".flyte").mkdir()
    (tmp_path / ".flyte" / "config.yaml").write_text("admin:\n  endpoint: http://127.0.0.1:9\n")
    assert in_click(lambda: print(remote_configured_now())).output.strip() == "True"


def remote_configured_now() -> bool:
    import flyte._initialize as initialize

    initialize._config = None
    return remote_cli.remote_configured()


@pytest.mark.integration
def test_run_follow_abort_and_rerun(fake_server: FakeServer, workflow: Path) -> None:
    flyte.init(endpoint=fake_server.endpoint, api_key=fake_server.api_key, root_dir=workflow)
    wf = load_module(str(workflow / "wf.py"), workflow)
    fake_server.start_worker()
    opts = {"name": "followed", "env": (), "follow": True}
    result = in_click(lambda: remote_cli.execute_remote(wf.main, opts, {"n": 3}))
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"Run followed submitted: {fake_server.endpoint}/runs/followed" in out
    # outside a terminal, as a local run: the output lines, then one summary line (no tree)
    assert "[stdout] " not in out and "squaring 2" in out and "7 actions: 6 succeeded, 1 failed" in out
    assert "running" not in out
    assert "Run followed succeeded" in out and "o0: 5|bad input 3|1003|6|remote" in out

    failed = in_click(lambda: remote_cli.execute_remote(wf.custom_error, {**opts, "name": "failing"}, {}))
    assert failed.exit_code == 1
    assert (
        "Run failing failed: task 'wf.custom_error' (action a0) raised Oops: not a builtin" in failed.output
    )

    quiet = in_click(
        lambda: remote_cli.execute_remote(wf.sleepy, {**opts, "name": "sleeping", "follow": False}, {})
    )
    assert "Run sleeping submitted" in quiet.output and "--follow" in quiet.output
    aborted = invoke("abort", "run", "sleeping", "--reason", "no more", "--timeout", "10")
    assert "Run 'sleeping' aborted: no more" in aborted.output
    again = invoke("abort", "run", "sleeping", "--reason", "again")
    assert again.exit_code == 1 and "already ended as aborted" in again.output

    rerun = invoke("rerun", "followed", "--name", "second")
    assert rerun.exit_code == 0, rerun.output
    assert "Run second succeeded" in rerun.output and "o0: 5|bad input 3|1003|6|remote" in rerun.output
    unknown = invoke("abort", "run", "nope", "--no-wait")
    assert unknown.exit_code == 1 and "No run named 'nope'" in unknown.output
