"""Secrets never show in clear: not in a run's outputs, errors or logs as any reader shows them
(``flyte.run``, ``flyte.remote``, ``flyte run``, ``flyte get logs|action|run``, the HTTP API), and
not in any byte the backend wrote (run store and its WAL, server logs, data and work directories,
and for PostgreSQL the database cluster's files)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from .driver import WF_FILE, WORKFLOWS, Backend, DevboxBackend, DevboxService
from .test_scenarios import wf

pytestmark = [pytest.mark.conformance, pytest.mark.integration, pytest.mark.timeout(180)]

SECRET = f"conf-secret-{secrets.token_hex(8)}"
"""Distinctive, so that finding it anywhere can only mean it leaked."""
MASK = "***"


def _files_with(value: bytes, files: list[Path]) -> list[str]:
    found = []
    for path in files:
        try:
            if value in path.read_bytes():
                found.append(str(path))
        except OSError:
            continue
    return found


def _postgres_files(backend: Backend) -> list[Path]:
    """The PostgreSQL cluster's files (tables and WAL), after a checkpoint."""
    if not (isinstance(backend, DevboxBackend) and backend.service.database == "postgresql"):
        return []
    import psycopg

    url = backend.service.db_url
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        row = conn.execute("SHOW data_directory").fetchone()
    assert row is not None
    return [p for p in Path(row[0]).rglob("*") if p.is_file()]


def test_a_secret_never_shows_in_clear(backend: Backend, tmp_path: Path) -> None:
    backend.put_secret("conf-token", SECRET)
    read = backend.run(wf.reads_secret)
    assert read.value == f"length {len(SECRET)}"  # the task did get the value
    logs = read.one("reads_secret").logs
    assert f"[stdout] the token is {MASK}" in logs
    assert any(f"logged token {MASK}" in line for line in logs)

    failed = backend.run(wf.secret_in_error)
    assert failed.error is not None and failed.error.message == f"token {MASK} rejected"
    assert failed.one("secret_in_error").error == f"ValueError: token {MASK} rejected"

    shown: list[str] = [repr(read), repr(failed)]
    for run in (read.run_name, failed.run_name):
        for args in (("get", "logs", run, "a0"), ("get", "action", run, "a0", "-of", "json"),
                     ("get", "run", run, "-of", "json"), ("get", "run", run)):  # fmt: skip
            code, out = backend.cli(*args)
            shown.append(out)
    if isinstance(backend, DevboxBackend):
        import httpx

        headers = {"Authorization": f"Bearer {backend.service.api_key}"}
        for run in (read.run_name, failed.run_name):
            for path in ("", "/actions", "/actions/a0", "/logs", "/traces", "/watch"):
                answer = httpx.get(f"{backend.service.endpoint}/api/v1/runs/{run}{path}", headers=headers,
                                   params={"timeout": 0} if path == "/watch" else None, timeout=30)  # fmt: skip
                shown.append(answer.text)

    args, env = backend.cli_run_args()
    ran = subprocess.run(
        [sys.executable, "-m", "flyte.cli.main", *args, str(WF_FILE), "reads_secret"],
        cwd=WORKFLOWS, env={**os.environ, **env}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    shown += [ran.stdout, ran.stderr]

    assert [text for text in shown if SECRET in text] == []
    written = backend.files_written() + _postgres_files(backend)
    assert written, "the backend wrote nothing?"
    assert _files_with(SECRET.encode(), written) == []


def test_a_missing_secret_is_a_clear_error(backend: Backend) -> None:
    outcome = backend.run(wf.needs_missing_secret)
    assert outcome.phase == "failed"
    assert outcome.error is not None and outcome.error.type == "SecretNotFoundError"
    assert (
        "conf-absent" in outcome.error.message
        and "conf_nosecret.needs_missing_secret" in outcome.error.message
    )


def test_a_missing_secret_counts_no_attempt(backend: Backend) -> None:
    assert backend.run(wf.needs_missing_secret).one("needs_missing_secret").attempts == 0


def test_the_server_redacts_what_a_worker_forgot_to(devbox_sqlite: DevboxService) -> None:
    # a worker that did not redact (an older one, or a bug): the server hides the value itself
    import httpx

    backend = DevboxBackend(devbox_sqlite)
    backend.init()
    late = f"conf-late-{secrets.token_hex(6)}"
    backend.put_secret("conf-late", late)  # created after the server started
    run = backend.run(wf.echo_int, x=1)
    headers = {"Authorization": f"Bearer {devbox_sqlite.api_key}"}
    lines = {"run": run.run_name, "action": "a0", "attempt": 0, "lines": [["stdout", 1.0, f"leaked {late}"]]}
    posted = httpx.post(
        f"{devbox_sqlite.endpoint}/api/v1/executor/logs", json=lines, headers=headers, timeout=30
    )
    assert posted.status_code == 200, posted.text
    shown = httpx.get(
        f"{devbox_sqlite.endpoint}/api/v1/runs/{run.run_name}/logs", headers=headers, timeout=30
    )
    assert [x["line"] for x in shown.json()] == [f"leaked {MASK}"]
    assert _files_with(late.encode(), backend.files_written()) == []


def test_the_store_redactor_follows_the_store(tmp_path: Path) -> None:
    from flyte._internal.secrets import SecretStore, StoreRedactor

    store = SecretStore(tmp_path / "secrets")
    redactor = StoreRedactor([store.root])
    assert redactor.redact("nothing yet: alpha-1234") == "nothing yet: alpha-1234"
    store.put("a", "alpha-1234")
    store.put("b", "beta-5678", group="g")
    assert redactor.redact("alpha-1234 and beta-5678") == f"{MASK} and {MASK}"
    store.put("a", "gamma-9012")  # replaced: the old value is no longer a secret
    store.delete("b", group="g")
    assert redactor.redact("alpha-1234 beta-5678 gamma-9012") == f"alpha-1234 beta-5678 {MASK}"
