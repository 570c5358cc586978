"""A real server (uvicorn on a loopback port) with worker processes; the devbox; the CLI commands."""

from __future__ import annotations

import os
import signal
import stat
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from server_harness import enc, settings_for, task, uvicorn_server

from _services import devbox_process
from flyte.server.app import create_app
from flyte.server.executors import Executor
from flyte.server.executors.processes import HostWorkers

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

FAKE_WORKER = [sys.executable, str(Path(__file__).with_name("fake_worker.py"))]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _until(check, timeout: float = 30.0):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_worker_processes_run_actions_are_restarted_and_stopped(tmp_path: Path):
    settings = settings_for(tmp_path, workers=2, worker_command=FAKE_WORKER)
    executors: list[HostWorkers] = []
    key_box: dict[str, str] = {}

    def factory(scheduler):  # noqa: ANN001, ANN202
        key = key_box["key"] = scheduler_app.state.api_keys.create("workers")
        ex = HostWorkers(settings.worker_command, settings.endpoint, key, settings.workers,
                             log_dir=settings.log_dir, on_exit=scheduler.worker_gone)  # fmt: skip
        assert isinstance(ex, Executor)
        executors.append(ex)
        return ex

    scheduler_app = create_app(settings, executor_factory=factory)
    # the executor needs the port before the app starts: serve on a known free port
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        settings.port = probe.getsockname()[1]
    with uvicorn_server(scheduler_app, port=settings.port) as url:
        ex = executors[0]
        pids = _until(lambda: len(ex.pids()) == 2 and ex.pids())
        client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key_box['key']}"}, timeout=30)
        r = client.post(
            "/api/v1/runs", json={"name": "sum", "task": task("env.add"), "inputs_b64": enc(x=2, y=3)}
        )
        assert r.status_code == 201, r.text
        done = client.get("/api/v1/runs/sum/actions/a0/wait", params={"timeout": 60}).json()
        assert done["phase"] == "succeeded"
        assert client.get("/api/v1/runs/sum/actions/a0/io").json()["outputs_b64"]
        # a worker killed while it runs an action: replaced, and the action is queued again at once
        r = client.post("/api/v1/runs", json={"name": "hang", "task": task("env.sleep")})
        running = _until(lambda: client.get("/api/v1/runs/hang/actions/a0").json()["phase"] == "running")
        assert running
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        _until(lambda: len(ex.pids()) == 2 and not set(ex.pids()) & set(pids))
        assert ex.restarts >= 2
        a0 = _until(lambda: (a := client.get("/api/v1/runs/hang/actions/a0").json())["attempts"] >= 2 and a)
        assert a0["phase"] in ("queued", "running")
        client.post("/api/v1/runs/hang/abort", json={"reason": "enough"})
        last = ex.pids()
        client.close()
    assert ex.pids() == []
    for pid in last:
        assert not _alive(pid)
    assert any(settings.log_dir.glob("w*.log"))


def test_devbox_prints_and_saves_its_key_and_reuses_it(tmp_path: Path):
    home = tmp_path / "home"
    env = {**os.environ, "FLYTE_HOME": str(home)}
    script = (
        "import sys; from flyte.server.devbox import run_devbox; from flyte.server.settings import ServerSettings;"
        f"run_devbox(ServerSettings(port=0, workers=1, worker_command={FAKE_WORKER!r}))"
    )

    log = home / "server.log"

    def check_banner(info: dict) -> str:
        """The new part of the log: the banner names the endpoint, then the key (printed once)."""
        out = log.read_text()
        first, key_line = out.split("flyte devbox listening on ")[-1].splitlines()[:2]
        assert first == info["endpoint"] and info["api_key"] in key_line, out
        assert stat.S_IMODE((home / "devbox.json").stat().st_mode) == 0o600
        return out

    with devbox_process(home, [sys.executable, "-c", script], env) as (proc, info):
        check_banner(info)
        headers = {"Authorization": f"Bearer {info['api_key']}"}
        r = httpx.post(
            f"{info['endpoint']}/api/v1/runs",
            json={"name": "dx", "task": task("env.add"), "inputs_b64": enc(x=1, y=1)},
            headers=headers,
            timeout=10,
        )
        assert r.status_code == 201
        done = httpx.get(
            f"{info['endpoint']}/api/v1/runs/dx/actions/a0/wait",
            params={"timeout": 60},
            headers=headers,
            timeout=90,
        )
        assert done.json()["phase"] == "succeeded"
    out = log.read_text()
    assert proc.returncode == 0, out  # SIGTERM: a clean shutdown
    assert info["api_key"] not in out.split("API key:")[-1].split("\n", 1)[-1]  # printed once, never logged
    assert stat.S_IMODE((home / "server" / "signing.key").stat().st_mode) == 0o600
    with devbox_process(home, [sys.executable, "-c", script], env) as (proc, again):
        check_banner(again)
        assert again["api_key"] == info["api_key"]
        r = httpx.get(
            f"{again['endpoint']}/api/v1/runs/dx",
            headers={"Authorization": f"Bearer {again['api_key']}"},
            timeout=10,
        )
        assert r.json()["phase"] == "succeeded"


def test_refuses_a_public_interface_without_a_key(tmp_path: Path):
    settings = settings_for(tmp_path, host="0.0.0.0")
    with pytest.raises(ValueError, match="without an API key"):
        settings.check_bind(have_api_key=False)
    settings.check_bind(have_api_key=True)
    settings_for(tmp_path, host="::1").check_bind(have_api_key=False)
    assert settings.endpoint.startswith("http://127.0.0.1:")


def test_a_fresh_devbox_refuses_a_public_interface_before_making_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import flyte.server.devbox as devbox
    from flyte.server.auth import ApiKeys
    from flyte.server.schema import ensure_server_schema

    def must_not_bind(host: str, port: int) -> None:
        raise AssertionError(f"bound {host}:{port} before refusing")

    monkeypatch.setattr(devbox, "bind", must_not_bind)
    settings = settings_for(tmp_path, host="0.0.0.0")
    with pytest.raises(ValueError, match="create one first with 'flyte create api-key'"):
        devbox.run_devbox(settings)
    assert not devbox.devbox_file(settings.home).exists()
    store = settings.open_store()
    try:
        ensure_server_schema(store)
        assert ApiKeys(store).count() == 0  # no key was made (and printed) for nobody
        ApiKeys(store).create("ops")  # with a key made beforehand, the refusal no longer applies
    finally:
        store.close()
    with pytest.raises(AssertionError, match="bound 0.0.0.0"):
        devbox.run_devbox(settings)


def test_cli_create_api_key_and_start_help(tmp_path: Path):
    from flyte.cli._server import create, start
    from flyte.server.auth import ApiKeys
    from flyte.server.settings import ServerSettings

    result = CliRunner().invoke(create, ["api-key", "--name", "ci"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[0]
    assert token.startswith("fk_")
    store = ServerSettings().open_store()
    try:
        assert ApiKeys(store).verify(token) is not None
        assert ApiKeys(store).verify(token + "x") is None
    finally:
        store.close()
    help_text = CliRunner().invoke(start, ["devbox", "--help"]).output
    for option in ("--port", "--db", "--storage", "--workers"):
        assert option in help_text
