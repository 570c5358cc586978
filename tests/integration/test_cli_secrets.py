"""`flyte create|get|delete secret` as a user runs them: a real process, the real store on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

VALUE = "s3cr3t-Value-for-cli"


def _secret_commands_wired() -> bool:
    try:
        from flyte.cli.main import cli
    except Exception:
        return False
    groups = [cli.commands.get(verb) for verb in ("create", "get", "delete")]
    return all(isinstance(g, click.Group) and "secret" in g.commands for g in groups)


pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not _secret_commands_wired(), reason="flyte.cli.main has no `secret` subcommands yet"),
]


def flyte_cli(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flyte.cli.main", *args],
        cwd=cwd,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=dict(os.environ),  # carries the test's FLYTE_HOME
        timeout=60,
        start_new_session=True,  # no controlling terminal: a hidden prompt reads stdin, never /dev/tty
    )


def test_secret_lifecycle(tmp_path: Path, isolated_home: Path):
    runs: list[subprocess.CompletedProcess[str]] = []

    def ok(*args: str, stdin: str | None = None) -> str:
        proc = flyte_cli(*args, cwd=tmp_path, stdin=stdin)
        runs.append(proc)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    ok("create", "secret", "api_key", "--value", VALUE)
    ok("create", "secret", "typed", "--group", "team", stdin=VALUE + "-typed\n")
    source = tmp_path / "cert.pem"
    source.write_text(VALUE + "-file")
    ok("create", "secret", "cert", "--from-file", str(source))

    secrets_dir = isolated_home / "secrets"
    assert (os.stat(secrets_dir).st_mode & 0o777) == 0o700
    assert all((os.stat(p).st_mode & 0o777) == 0o600 for p in secrets_dir.rglob("*.secret"))

    listing = ok("get", "secret")
    for name in ("api_key", "typed", "team", "cert"):
        assert name in listing
    as_json = json.loads(ok("get", "secret", "-of", "json"))
    assert sorted(d["name"] for d in as_json) == ["api_key", "cert", "typed"]
    detail = json.loads(ok("get", "secret", "api_key", "-of", "json"))
    assert detail["name"] == "api_key" and set(detail) == {"name", "group", "created_at", "updated_at"}

    ok("delete", "secret", "typed", "--group", "team")
    missing = flyte_cli("delete", "secret", "typed", "--group", "team", cwd=tmp_path)
    runs.append(missing)
    assert missing.returncode == 1
    assert "Error:" in missing.stderr and "flyte create secret typed --group team" in missing.stderr

    for proc in runs:
        assert VALUE not in proc.stdout and VALUE not in proc.stderr


def test_bad_name_is_refused(tmp_path: Path, isolated_home: Path):
    proc = flyte_cli("create", "secret", "../escape", "--value", VALUE, cwd=tmp_path)
    assert proc.returncode == 1 and "not allowed" in proc.stderr
    assert VALUE not in proc.stdout + proc.stderr
    assert not (isolated_home / "secrets").exists() or not any((isolated_home / "secrets").rglob("*.secret"))
