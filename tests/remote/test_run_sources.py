"""One run handle over two sources: the same run executed locally and on a devbox reads the same
through ``flyte get ... -of json`` and through ``flyte.remote.Run`` / ``Action``; and
``flyte run --follow`` on a devbox draws the live tree a local run draws."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import flyte
from _services import devbox_process
from flyte._internal.loader import load_module
from flyte.models import ActionPhase
from flyte.remote import Action, Run

pytestmark = pytest.mark.integration

LAUNCH = (
    "import sys; from pathlib import Path; from flyte.server.settings import ServerSettings; "
    "from flyte.server.devbox import run_devbox; "
    "run_devbox(ServerSettings(home=Path(sys.argv[1]), host='127.0.0.1', port=0, workers=2))"
)

WORKFLOW = textwrap.dedent(
    """
    import asyncio

    import flyte

    env = flyte.TaskEnvironment(name="same")


    @env.task
    async def double(x: int) -> int:
        print(f"doubling {x}")
        return 2 * x


    @env.task
    async def explode(x: int) -> int:
        raise ValueError(f"cannot take {x}")


    @env.task
    async def main(x: int = 3) -> int:
        y = await double(x)
        return await explode(y)


    @env.task
    async def square(x: int) -> int:
        return x * x


    @env.task
    async def fanout(n: int = 200) -> int:
        return sum(await asyncio.gather(*(square(i) for i in range(n))))
    """
)


@dataclass
class Devbox:
    endpoint: str
    api_key: str


@pytest.fixture(scope="module")
def devbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devbox]:
    home = tmp_path_factory.mktemp("devbox-home")
    with devbox_process(home, [sys.executable, "-c", LAUNCH, str(home)]) as (_, info):
        yield Devbox(info["endpoint"], info["api_key"])


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "project"
    root.mkdir()
    (root / "same.py").write_text(WORKFLOW)
    yield root
    sys.modules.pop("same", None)


def flyte_cli(
    project: Path, home: Path, *args: str, devbox: Devbox | None = None
) -> subprocess.CompletedProcess[str]:
    """``flyte ARGS`` as a user runs it in ``project``: against ``devbox`` when given (its config
    in the project's ``.flyte/config.yaml``), else against this machine's store in ``home``."""
    config = project / ".flyte" / "config.yaml"
    if devbox is not None:
        config.parent.mkdir(exist_ok=True)
        config.write_text(f"admin:\n  endpoint: {devbox.endpoint}\n  api_key: {devbox.api_key}\n")
    elif config.exists():
        config.unlink()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLYTE_")}
    env.update(FLYTE_HOME=str(home), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "flyte.cli.main", *args], cwd=project, env=env, capture_output=True, text=True
    )


_TIMES = {"created_at", "started_at", "ended_at", "at", "duration_s"}


def normalized(data: Any, names: dict[str, str]) -> Any:
    """``data`` without what differs between two executions of one run: times, durations, the
    run's name and the actions' generated names (replaced by their place in the tree)."""
    if isinstance(data, dict):
        return {
            k: ("<time>" if k in _TIMES and v is not None else normalized(v, names)) for k, v in data.items()
        }
    if isinstance(data, list):
        return [normalized(v, names) for v in data]
    if isinstance(data, str):
        for real, stable in names.items():
            data = data.replace(real, stable)
        return data
    return data


def stable_names(run_json: dict[str, Any]) -> dict[str, str]:
    names = {run_json["run"]["name"]: "<run>"}
    names.update({a["name"]: f"<action {i}>" for i, a in enumerate(run_json["actions"]) if a["name"] != "a0"})
    return names


def read_both_ways(project: Path, home: Path, name: str, devbox: Devbox | None) -> dict[str, Any]:
    """``flyte get run/action/logs -of json`` of run ``name``, normalized."""
    got = flyte_cli(project, home, "get", "run", name, "-of", "json", devbox=devbox)
    assert got.returncode == 0, got.stderr
    run_json = json.loads(got.stdout)
    names = stable_names(run_json)
    failing = next(a["name"] for a in run_json["actions"] if a["task_name"] == "same.explode")
    action = flyte_cli(project, home, "get", "action", name, failing, "-of", "json", devbox=devbox)
    assert action.returncode == 0, action.stderr
    logs = flyte_cli(project, home, "get", "logs", name, "-of", "json", devbox=devbox)
    assert logs.returncode == 0, logs.stderr
    action_json = json.loads(action.stdout)
    action_json.pop("traceback")  # the task's frames, whose file paths differ (a bundle on the devbox)
    return normalized({"run": run_json, "action": action_json, "logs": json.loads(logs.stdout)}, names)


def handle_values(run: Run) -> dict[str, Any]:
    """What ``flyte.remote.Run`` / ``Action`` say of a run, with generated names made stable."""
    names = {a.name: f"<action {i}>" for i, a in enumerate(run.actions())}
    names["a0"] = "a0"

    def action(a: Action) -> dict[str, Any]:
        return {
            "name": names[a.name], "task": a.task_name, "phase": a.phase, "attempts": a.attempts,
            "cache": a.cache_status, "group": a.group, "error_message": a.error_message,
            "error": (type(a.error).__name__, str(a.error)) if a.error is not None else None,
            "inputs": a.inputs().to_dict(), "logs": a.logs(), "done": a.done(),
            "children": sorted(names[c.name] for c in a.children),
            "outputs": tuple(a.outputs()) if a.phase is ActionPhase.SUCCEEDED else None,
        }  # fmt: skip

    return {
        "phase": run.phase,
        "task": run.task_name,
        "error_message": run.error_message,
        "done": run.done(),
        "inputs": run.inputs().to_dict(),
        "root": action(run.action),
        "actions": [action(a) for a in run.actions()],
        "listed": run.name in [r.name for r in Run.listall(limit=10)],
    }


def test_a_run_reads_the_same_from_the_local_store_and_from_a_devbox(
    devbox: Devbox, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    local = flyte_cli(project, home, "run", "--local", "--name", "same-local", "same.py", "main")
    assert local.returncode == 1 and "raised ValueError: cannot take 6" in local.stderr, local.stderr
    remote = flyte_cli(
        project, home, "run", "--follow", "--name", "same-remote", "same.py", "main", devbox=devbox
    )
    assert remote.returncode == 1 and "raised ValueError: cannot take 6" in remote.stderr, remote.stderr
    # the same failure line: which task raised what, found the same way for both
    assert local.stderr.replace("same-local", "<run>") == remote.stderr.replace("same-remote", "<run>")

    from_local = read_both_ways(project, home, "same-local", None)
    from_devbox = read_both_ways(project, home, "same-remote", devbox)
    assert from_local == from_devbox
    assert [a["phase"] for a in from_local["run"]["actions"]] == ["failed", "succeeded", "failed"]
    assert from_local["action"]["error_message"] == "cannot take 6"
    assert [line["line"] for line in from_local["logs"]] == ["doubling 3"]

    monkeypatch.setenv("FLYTE_HOME", str(home))
    flyte.init(root_dir=project)  # no endpoint: this machine's store
    local_values = handle_values(Run.get("same-local"))
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key, root_dir=project)
    remote_values = handle_values(Run.get("same-remote"))
    assert local_values == remote_values
    assert local_values["root"]["error"] == ("ValueError", "cannot take 6")
    assert local_values["inputs"] == {"x": 3} and local_values["actions"][1]["outputs"] == (6,)


def test_the_handle_of_a_local_run_reads_as_its_record_does(project: Path) -> None:
    """``flyte.run`` returns a handle on the run's live tree; ``Run.get`` reads the run store."""
    flyte.init(root_dir=project)
    wf = load_module(str(project / "same.py"), project)
    live = flyte.with_runcontext(name="live-run").run(wf.fanout, n=3)
    assert live.outputs() == (5,)
    assert handle_values(live) == handle_values(Run.get("live-run"))
    assert [a.task_name for a in live.actions()] == ["same.fanout", *["same.square"] * 3]
    # a recorded run's watch gives each action's last phase, then ends (the run is over)
    events = list(Run.get("live-run").watch())
    assert sorted((e.action, e.phase) for e in events) == sorted(
        (a.name, "succeeded") for a in live.actions()
    )


# -- flyte run --follow on a devbox --------------------------------------------------------------------


def screen(raw: str) -> list[str]:
    """The lines left on a terminal after it was sent ``raw`` (the few control sequences rich's
    live display uses: cursor up, erase line, carriage return; colours are dropped)."""
    lines, row, col = [""], 0, 0
    for token in re.split(r"(\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r|\n)", raw):
        if not token or token.startswith("\x1b]"):
            continue
        if token == "\n":
            row, col = row + 1, 0
            lines.extend([""] * (row + 1 - len(lines)))
        elif token == "\r":
            col = 0
        elif token.startswith("\x1b["):
            command, arg = token[-1], token[2:-1]
            if command == "A":
                row = max(0, row - int(arg or 1))
            elif command == "K":
                lines[row] = "" if arg == "2" else lines[row][:col]
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + token + line[col + len(token) :]
            col += len(token)
    while lines and not lines[-1].strip():
        lines.pop()
    return [line.rstrip() for line in lines]


def in_terminal(project: Path, home: Path, devbox: Devbox, *args: str) -> tuple[int, str]:
    """``flyte ARGS`` on a pseudo-terminal 160x60, as a user sees it; (exit code, raw output)."""
    (project / ".flyte").mkdir(exist_ok=True)
    (project / ".flyte" / "config.yaml").write_text(
        f"admin:\n  endpoint: {devbox.endpoint}\n  api_key: {devbox.api_key}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLYTE_", "FORCE_COLOR", "NO_COLOR"))}
    env.update(FLYTE_HOME=str(home), COLUMNS="160", LINES="60", TERM="xterm-256color")
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "flyte.cli.main", *args], cwd=project, env=env, stdin=slave, stdout=slave,
        stderr=slave, close_fds=True,
    )  # fmt: skip
    os.close(slave)
    chunks = []
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        code = proc.wait(120)
    return code, b"".join(chunks).decode("utf-8", errors="replace")


def test_run_follow_on_a_devbox_shows_the_live_tree(devbox: Devbox, project: Path, tmp_path: Path) -> None:
    code, raw = in_terminal(project, tmp_path / "home", devbox, "run", "--follow", "--name", "followed-tree",
                            "same.py", "fanout", "--n", "200")  # fmt: skip
    lines = screen(raw)
    text = "\n".join(lines)
    assert code == 0, text
    assert "Run followed-tree  201 actions: 201 succeeded" in text
    assert re.search(r"a0  same\.fanout  succeeded", text), text
    assert re.search(r"same\.square ×200 .* 200/200 +200 succeeded", text), text
    assert f"o0: {sum(i * i for i in range(200))}" in text
    # one collapsed line for the 200 children, not a line per phase change of each action
    tree = [line for line in lines if "same." in line]
    assert len(tree) == 2, text
    assert len(lines) < 15, f"{len(lines)} lines:\n{text}"  # was a line per phase change: 600
