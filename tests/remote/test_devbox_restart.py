"""Recovery of the control plane: SIGKILL the devbox mid-run, start it again on the same database,
and the run completes — finished actions are not executed again, the interrupted one is retried.
Runs against SQLite and against a real PostgreSQL server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

WORKFLOW = textwrap.dedent(
    """
    import asyncio, os, time
    from pathlib import Path
    import flyte

    env = flyte.TaskEnvironment(name="survive")

    def mark(name: str) -> None:
        with (Path(os.environ["MARKERS"]) / name).open("a") as f:
            f.write("x")

    @env.task
    async def step(i: int) -> int:
        mark(f"start-{i}")
        await asyncio.sleep(30 if i == 3 and not (Path(os.environ["MARKERS"]) / "restarted").exists() else 0.05)
        mark(f"done-{i}")
        return i * 10

    @env.task
    async def pipeline(n: int) -> int:
        total = 0
        for i in range(n):
            total += await step(i)
        return total
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_devbox(home: Path, port: int, db: str | None, env: dict[str, str]) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "flyte.cli.main", "start", "devbox", "--port", str(port), "--workers", "2"]
    if db:
        args += ["--db", db]
    log = (home / "devbox.log").open("ab")
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        if proc.poll() is not None:
            raise AssertionError((home / "devbox.log").read_text())
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the devbox did not start listening")


def _python(code: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def _count(markers: Path, name: str) -> int:
    path = markers / name
    return len(path.read_text()) if path.exists() else 0


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str | None:
    if request.param == "sqlite":
        return None  # the devbox default
    return request.getfixturevalue("postgres_db")


def test_killing_the_server_mid_run_loses_nothing(tmp_path: Path, database: str | None):
    home, markers, work = tmp_path / "home", tmp_path / "markers", tmp_path / "work"
    for folder in (home, markers, work):
        folder.mkdir()
    (work / "wf.py").write_text(WORKFLOW)
    port = _free_port()
    env = {**os.environ, "FLYTE_HOME": str(home), "MARKERS": str(markers)}
    client = (
        "import json, flyte; from pathlib import Path; "
        f"box = json.loads(Path({str(home / 'devbox.json')!r}).read_text()); "
        "flyte.init(endpoint=box['endpoint'], api_key=box['api_key']); "
    )
    server = _start_devbox(home, port, database, env)
    try:
        submitted = _python(client + "import wf; print(flyte.with_runcontext(name='survivor').run(wf.pipeline, 5).name)",
                            work, env)  # fmt: skip
        assert submitted.returncode == 0, submitted.stderr
        deadline = time.monotonic() + 60
        while _count(markers, "start-3") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _count(markers, "done-2") == 1 and _count(markers, "start-3") == 1
        os.killpg(server.pid, signal.SIGKILL)  # the server and everything it started
        server.wait(timeout=10)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)

    (markers / "restarted").touch()
    server = _start_devbox(home, port, database, env)
    try:
        finished = _python(
            client + "from flyte.remote import Run; r = Run.get('survivor'); r.wait(timeout=90); "
            "print(r.phase.value, r.outputs()[0])",
            work,
            env,
        )
        assert finished.returncode == 0, finished.stderr
        assert finished.stdout.split() == ["succeeded", str(sum(i * 10 for i in range(5)))]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)

    # finished before the kill: executed exactly once; interrupted: retried; the rest: once
    assert [_count(markers, f"done-{i}") for i in range(5)] == [1, 1, 1, 1, 1]
    assert [_count(markers, f"start-{i}") for i in range(3)] == [1, 1, 1]
    assert _count(markers, "start-3") == 2


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="parent-death signals are a Linux feature")
def test_workers_stop_when_the_server_is_killed_alone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, FLYTE_HOME=str(home))
    server = _start_devbox(home, _free_port(), None, env)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline:
            workers = _children(server.pid)
            time.sleep(0.1)
        assert len(workers) == 2, (home / "devbox.log").read_text()
        time.sleep(1.0)  # let the workers get past start-up (where they ask to die with the server)
        server.send_signal(signal.SIGKILL)  # the server alone: its workers run in sessions of their own
        server.wait(timeout=10)
        deadline = time.monotonic() + 30
        while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in workers if Path(f"/proc/{pid}").exists()]
        assert left == [], "workers outlived the server"
    finally:
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
