"""The reference's CLI habits parse on ours: global options before the subcommand, `run` options,
hosted-only options noted in one line, and bad input as one line, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

pytestmark = pytest.mark.integration

WORKFLOW = textwrap.dedent(
    """
    import flyte

    env = flyte.TaskEnvironment(name="habits")


    @env.task
    async def where(tag: str = "x") -> str:
        \"\"\"Say which project and domain the run is in.\"\"\"
        return f"{tag}:{flyte.current_project()}/{flyte.current_domain()}"


    @env.task
    async def needs(n: int, data: dict) -> int:
        return n + len(data)


    @env.task
    async def huge_error() -> int:
        raise ValueError("x" * 2_000_000)
    """
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "wf.py").write_text(WORKFLOW)
    return tmp_path


def flyte_cli(project: Path, *args: str | bytes) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "FLYTE_HOME": str(project / "home")}
    return subprocess.run(
        [sys.executable, "-m", "flyte.cli.main", *args],
        cwd=project,
        env=env,
        capture_output=True,
        timeout=120,
    )


def test_main_is_the_click_group():
    from flyte.cli.main import main

    assert isinstance(main, click.Group)
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0 and "run" in result.output and "--output-format" in result.output


def test_project_domain_and_labels_are_recorded_and_seen_by_tasks(project: Path):
    ran = flyte_cli(project, "run", "--local", "-p", "ml", "-d", "dev", "--label", "team=blue", "--name", "r-pd",
                    "wf.py", "where", "--tag", "t")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert b"t:ml/dev" in ran.stdout
    listed = flyte_cli(project, "-of", "json", "get", "runs")  # the format given before the subcommand
    assert listed.returncode == 0, listed.stderr
    (run,) = json.loads(listed.stdout)
    assert run["name"] == "r-pd" and run["labels"] == {"team": "blue", "project": "ml", "domain": "dev"}
    as_yaml = flyte_cli(project, "-of", "yaml", "get", "runs")
    assert yaml.safe_load(as_yaml.stdout)[0]["labels"]["project"] == "ml"
    other = flyte_cli(project, "run", "--local", "--name", "r-other", "-p", "web", "wf.py", "where")
    assert other.returncode == 0, other.stderr
    for flags, expected in [(["-p", "ml"], ["r-pd"]), (["-p", "web"], ["r-other"]), (["--label", "team=blue"], ["r-pd"]),
                            (["-p", "ml", "-d", "prod"], []), ([], ["r-other", "r-pd"])]:  # fmt: skip
        listed = flyte_cli(project, "-of", "json", "get", "runs", *flags)
        assert [r["name"] for r in json.loads(listed.stdout)] == expected, flags


def test_hosted_only_options_are_accepted_with_one_note(project: Path):
    ran = flyte_cli(project, "--org", "acme", "run", "--local", "--copy-style", "all", "--service-account", "sa",
                    "--raw-data-path", str(project / "raw"), "--tui", "wf.py", "where")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    notes = [line for line in ran.stderr.decode().splitlines() if line.startswith("note:")]
    assert len(notes) == 2 and "--copy-style" in notes[0] and "--service-account" in notes[1]
    assert b"Traceback" not in ran.stderr


def test_a_tasks_help_marks_required_inputs_once(project: Path):
    shown = flyte_cli(project, "run", "--local", "wf.py", "needs", "--help")
    assert shown.returncode == 0
    lines = shown.stdout.decode().splitlines()
    n_line = next(line for line in lines if "--n " in line)
    assert n_line.count("required") == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--n", "1", "--data", "[" * 30000 + "]" * 30000], b"nested too deeply"),
        (["--n", "1", "--data", b'{"k": "\xff\xfe"}'], b"not valid UTF-8"),
    ],
    ids=["json-30000-deep", "not-utf8"],
)
def test_bad_arguments_are_one_line_errors(project: Path, args: list, expected: bytes):
    ran = flyte_cli(project, "run", "--local", "wf.py", "needs", *args)
    assert ran.returncode == 2
    assert expected in ran.stderr and b"Traceback" not in ran.stderr


def test_a_huge_error_message_is_shortened_and_kept_in_full(project: Path):
    ran = flyte_cli(project, "run", "--local", "--name", "r-huge", "wf.py", "huge_error")
    assert ran.returncode == 1
    assert len(ran.stderr) < 10_000 and b"shortened: 2,000,012 characters" in ran.stderr
    assert b"flyte get run r-huge" in ran.stderr
    shown = flyte_cli(project, "-of", "json", "get", "run", "r-huge")
    assert len(json.loads(shown.stdout)["run"]["error_message"]) > 1_000_000


@pytest.mark.parametrize("command", [["get", "runs"], ["run", "wf.py", "where"], ["abort", "run", "r-x"]])
def test_a_server_that_is_down_is_one_line_naming_the_endpoint(project: Path, command: list[str]):
    (project / ".flyte").mkdir()
    (project / ".flyte" / "config.yaml").write_text("admin:\n  endpoint: http://127.0.0.1:9\n  api_key: k\n")
    ran = flyte_cli(project, *command)
    assert ran.returncode == 1
    lines = ran.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "http://127.0.0.1:9" in lines[0] and "Traceback" not in lines[0], lines
    verbose = flyte_cli(project, "-v", *command)
    assert b"Traceback" in verbose.stderr


def test_the_references_create_secret_and_create_config_options_parse(project: Path):
    made = flyte_cli(project, "create", "secret", "ghcr", "--type", "image_pull", "--registry", "ghcr.io",
                     "--username", "me", "--password", "pw", "--project", "p1")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert b"note: --project" in made.stderr
    from flyte._internal.secrets import SecretStore

    store = SecretStore(project / "home" / "secrets")
    auths = json.loads(store.get("ghcr"))["auths"]
    assert list(auths) == ["ghcr.io"] and auths["ghcr.io"]["auth"]
    config = project / "cfg.yaml"
    written = flyte_cli(project, "create", "config", "--endpoint", "http://127.0.0.1:8080", "--force",
                        "--registry", "ghcr.io/me", "--builder", "local", "--auth-type", "Pkce", "-o", str(config))  # fmt: skip
    assert written.returncode == 0, written.stderr
    data = yaml.safe_load(config.read_text())
    assert data["admin"]["endpoint"] == "http://127.0.0.1:8080"
    assert data["image"] == {"builder": "local", "registry": "ghcr.io/me"}


def test_a_files_help_lists_its_tasks_with_their_docstrings(project: Path):
    shown = flyte_cli(project, "run", "--local", "wf.py", "--help")
    assert shown.returncode == 0
    line = next(line for line in shown.stdout.decode().splitlines() if line.strip().startswith("where"))
    assert "Say which project and domain the run is in." in line


def test_get_local_reads_this_machine_even_with_a_control_plane_configured(project: Path):
    ran = flyte_cli(project, "run", "--local", "--name", "r-local", "wf.py", "where")
    assert ran.returncode == 0, ran.stderr
    (project / ".flyte").mkdir()
    (project / ".flyte" / "config.yaml").write_text("admin:\n  endpoint: http://127.0.0.1:9\n  api_key: k\n")
    listed = flyte_cli(project, "get", "runs", "--local")
    assert listed.returncode == 0, listed.stderr
    assert b"r-local" in listed.stdout
    assert b"Runs from the local store in" in listed.stderr
    remote = flyte_cli(project, "get", "runs", "--remote")
    assert remote.returncode == 1 and b"http://127.0.0.1:9" in remote.stderr


@pytest.mark.parametrize("name", ["../../x", "Upper", "a/b"])
def test_a_run_name_that_could_escape_flyte_home_is_refused(project: Path, name: str):
    import flyte

    ran = flyte_cli(project, "run", "--local", "--name", name, "wf.py", "where")
    assert ran.returncode == 2 and b"invalid run name" in ran.stderr and b"Traceback" not in ran.stderr
    assert not (project / "x").exists()
    with pytest.raises(ValueError, match="invalid run name"):
        flyte.with_runcontext(name=name)


LEFT_BEHIND = textwrap.dedent(
    """
    import flyte
    import flyte.report

    env = flyte.TaskEnvironment(name="left")


    @flyte.trace
    async def fetch(x: int) -> int:
        return x * 10


    @env.task(report=True)
    async def main(n: int = 2) -> int:
        flyte.report.log("<h1>hello report</h1>")
        total = 0
        for i in range(n):
            total += await fetch(i)
        await flyte.ctx().checkpoint.save(b"state")
        return total
    """
)


def test_what_a_run_left_behind_is_visible(project: Path):
    (project / "left.py").write_text(LEFT_BEHIND)
    ran = flyte_cli(project, "run", "--local", "--name", "r-left", "left.py", "main")
    assert ran.returncode == 0, ran.stderr
    shown = flyte_cli(project, "get", "action", "r-left", "a0")
    text = shown.stdout.decode()
    assert "Trace calls:" in text and '{"x": 1}' in text and '{"o0": 10}' in text
    assert "Checkpoints:" in text and "report.html" in text
    data = json.loads(flyte_cli(project, "-of", "json", "get", "action", "r-left", "a0").stdout)
    assert [t["outputs"] for t in data["traces"]] == [{"o0": 0}, {"o0": 10}]
    assert len(data["checkpoints"]) == 1
    copy = project / "copy.html"
    saved = flyte_cli(project, "get", "report", "r-left", "-o", str(copy))
    assert saved.returncode == 0, saved.stderr
    assert "hello report" in copy.read_text()


@pytest.mark.parametrize(
    "command", [["get", "runs", "--label", "team"], ["run", "--local", "--label", "team", "wf.py", "where"]]
)
def test_a_label_without_a_value_is_a_usage_error(project: Path, command: list[str]):
    ran = flyte_cli(project, *command)
    assert ran.returncode == 2 and b"expected KEY=VALUE, got 'team'" in ran.stderr
