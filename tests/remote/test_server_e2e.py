"""End to end with the real control plane (``flyte.server``) in a subprocess: a devbox on a free
loopback port with two worker processes, driven through the client API, ``flyte.run`` and the
``flyte`` CLI, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import flyte
import flyte.errors
from _services import Devbox, launch_args, running_devbox
from flyte._internal.loader import load_module
from flyte._internal.run_config import RunConfig, new_run_name
from flyte.models import ActionPhase
from flyte.remote._remote_run import RemoteRun, submit_run

from .conftest import WORKFLOW

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def devbox(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devbox]:
    home = tmp_path_factory.mktemp("devbox-home")
    db_url = None
    if request.param == "postgresql":
        from _postgres_server import fresh_database

        db_url = fresh_database(request.getfixturevalue("postgres_url"), f"e2e_{home.name}")
    with running_devbox(home, launch_args(home, db_url=db_url)) as box:
        yield box


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "project"
    root.mkdir()
    (root / "wf.py").write_text(WORKFLOW)
    yield root
    sys.modules.pop("wf", None)


def test_a_workflow_through_the_client_api(devbox: Devbox, project: Path) -> None:
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key, root_dir=project)
    wf = load_module(str(project / "wf.py"), project)
    run = submit_run(wf.main, (), {"n": 5}, RunConfig(name=new_run_name()))
    assert run.outputs() == ("30|bad input 5|1005|10|remote",)
    by_task = {a.task_name: a for a in run.actions()}
    assert by_task["wf.boom"].phase is ActionPhase.FAILED
    assert by_task["wf.boom"].error_message == "ValueError: bad input 5"
    assert by_task["wf.cached"].cache_status == "miss"
    assert any("squaring" in line for a in run.actions() for line in a.logs())
    again = submit_run(wf.main, (), {"n": 5}, RunConfig(name=new_run_name()))
    assert again.outputs() == run.outputs()
    assert {a.task_name: a for a in again.actions()}["wf.cached"].cache_status == "hit"
    fanout = submit_run(wf.fanout, (), {"n": 100}, RunConfig(name=new_run_name()))
    assert fanout.outputs() == (sum(i * i for i in range(100)),)
    assert len(fanout.actions()) == 101


def test_init_from_api_key_reaches_the_server_of_the_environment(
    devbox: Devbox, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLYTE_API_KEY", devbox.api_key)
    monkeypatch.setenv("FLYTE_ADMIN_ENDPOINT", devbox.endpoint)
    flyte.init_from_api_key(root_dir=project)
    wf = load_module(str(project / "wf.py"), project)
    run = flyte.run(wf.main, n=4)
    assert isinstance(run, RemoteRun)
    assert run.outputs() == flyte.run(wf.main, n=4).outputs()


def test_a_workflow_through_flyte_run(devbox: Devbox, project: Path) -> None:
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key, root_dir=project)
    wf = load_module(str(project / "wf.py"), project)
    run = flyte.run(wf.main, n=4)
    assert isinstance(run, RemoteRun)
    assert run.url == f"{devbox.endpoint}/runs/{run.name}"
    assert run.outputs() == ("14|bad input 4|1004|8|remote",)
    found = flyte.remote.Run.get(run.name)
    assert isinstance(found, RemoteRun)
    assert found.phase is ActionPhase.SUCCEEDED
    assert run.name in [r.name for r in flyte.remote.Run.listall()]


def test_a_workflow_through_the_cli(devbox: Devbox, project: Path) -> None:
    env = dict(os.environ, FLYTE_HOME=str(devbox.home))
    flyte_cli = [sys.executable, "-m", "flyte.cli.main"]
    made = subprocess.run(
        [*flyte_cli, "create", "config", "--devbox"], cwd=project, env=env, capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    assert (project / ".flyte" / "config.yaml").is_file()
    client_env = dict(os.environ, FLYTE_HOME=str(project / "client-home"))
    ran = subprocess.run(
        [*flyte_cli, "run", "--follow", "wf.py", "main", "--n", "3"],
        cwd=project,
        env=client_env,
        capture_output=True,
        text=True,
    )
    assert "No such option" not in ran.stderr
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "squaring 2" in ran.stdout
    assert "o0: 5|bad input 3|1003|6|remote" in ran.stdout


def test_errors_are_caught_the_reference_way_and_the_python_way(devbox: Devbox, project: Path) -> None:
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key, root_dir=project)
    wf = load_module(str(project / "wf.py"), project)
    assert flyte.run(wf.catches_both_ways).outputs() == (
        "ValueError:bad input 1|Oops:True:not a builtin|MaxRuntimeExceededError",
    )
    failed = flyte.run(wf.custom_error)
    with pytest.raises(wf.Oops, match="not a builtin") as info:
        failed.outputs()
    assert isinstance(info.value, flyte.errors.RuntimeUserError) and info.value.code == "Oops"
    with pytest.raises(ValueError, match="bad input 2") as boom:
        flyte.run(wf.boom, x=2).outputs()
    assert isinstance(boom.value, flyte.errors.RuntimeUserError) and boom.value.code == "ValueError"


def test_project_and_domain_reach_devbox_workers_and_label_the_run(devbox: Devbox, project: Path) -> None:
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key, root_dir=project)
    wf = load_module(str(project / "wf.py"), project)
    run = flyte.with_runcontext(project="ml", domain="dev", labels={"team": "blue"}).run(wf.where_am_i)
    assert run.outputs() == ("ml/dev|ml/dev",)
    from flyte.remote._records import RemoteRecords
    from flyte.remote._remote_run import client_from_config

    records = RemoteRecords(client_from_config())
    found = records.list_runs(labels={"project": "ml", "team": "blue"})
    assert run.name in [r.name for r in found]
    assert found[0].labels == {"project": "ml", "domain": "dev", "team": "blue"}
    assert run.name not in [r.name for r in records.list_runs(labels={"project": "other"})]


def test_overrides_reach_devbox_workers(devbox: Devbox, project: Path) -> None:
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key, root_dir=project)
    wf = load_module(str(project / "wf.py"), project)
    assert flyte.run(wf.overridden).outputs() == ("overridden|unset|MaxRuntimeExceededError",)
    run = flyte.with_runcontext(env_vars={"GREETING": "from the run"}).run(wf.overridden)
    assert run.outputs() == ("from the run|from the run|MaxRuntimeExceededError",)


UNGUARDED = """
import os
import flyte

env = flyte.TaskEnvironment(name="unguarded")


@env.task
async def hello(who: str = "devbox") -> str:
    with open(MARK, "a") as f:  # wherever it runs: in a devbox worker or in a local run
        f.write(who + "\\n")
    return f"hello {who}"


if os.environ.get("UNGUARDED_TEST_PROCESS") != "1":  # true in the devbox's workers, not in the test
    flyte.run(hello, who="again")
"""


def test_a_module_level_run_does_not_run_again_in_devbox_workers(
    devbox: Devbox, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNGUARDED_TEST_PROCESS", "1")
    mark = project / "hello-calls.txt"
    (project / "unguarded.py").write_text(f"MARK = {str(mark)!r}\n" + UNGUARDED)
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key, root_dir=project)
    module = load_module(str(project / "unguarded.py"), project)
    before = {r.name for r in flyte.remote.Run.listall()}
    run = flyte.run(module.hello)
    assert run.outputs() == ("hello devbox",)
    time.sleep(1)  # a run submitted by a worker's import would have appeared by now
    new = {r.name for r in flyte.remote.Run.listall()} - before
    assert new == {run.name}
    assert mark.read_text().split() == ["devbox"]  # never "again": no run started at import
    sys.modules.pop("unguarded", None)


EDITED = """
import flyte

env = flyte.TaskEnvironment(name="edited", env_vars={"WHERE": "a worker process"})


@env.task
def version() -> str:
    return VERSION
"""


def test_an_edited_module_runs_its_new_code_in_devbox_worker_processes(devbox: Devbox, project: Path) -> None:
    """A task with env_vars runs in a worker process under a devbox worker: after the file is
    edited, its next run must run the new code there, not the module that process imported
    from the previous code bundle."""
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key, root_dir=project)
    seen = []
    for version in range(6):  # two devbox workers: each runs at least one version after another
        (project / "edited.py").write_text(f"VERSION = 'v{version}'\n" + EDITED)
        sys.modules.pop("edited", None)
        module = load_module(str(project / "edited.py"), project)
        seen.append(flyte.run(module.version).outputs()[0])
    assert seen == [f"v{version}" for version in range(6)]
    sys.modules.pop("edited", None)


PLAIN_SYNC_CALLS = """
import flyte

env = flyte.TaskEnvironment(name="plain")
isolated = flyte.TaskEnvironment(name="plain_isolated", env_vars={"WHERE": "a worker process"})


@env.task
def double(x: int) -> int:
    return 2 * x


@env.task
async def on_the_workers_loop(x: int) -> int:
    return double(x) + 1


@isolated.task
async def in_a_worker_process(x: int) -> int:
    return double(x) + 2
"""


def test_a_sync_task_called_plainly_from_an_async_task_blocks_until_done(
    devbox: Devbox, project: Path
) -> None:
    """As the reference does, on the devbox worker's own loop and in one of its worker processes."""
    (project / "plain.py").write_text(PLAIN_SYNC_CALLS)
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key, root_dir=project)
    module = load_module(str(project / "plain.py"), project)
    assert flyte.run(module.on_the_workers_loop, 5).outputs() == (11,)
    assert flyte.run(module.in_a_worker_process, 5).outputs() == (12,)
    sys.modules.pop("plain", None)


SIZED = """
import flyte
import flyte.errors

env = flyte.TaskEnvironment(name="sized")


@env.task
def fill(mb: int) -> int:
    block = bytearray(mb * 1024 * 1024)
    for i in range(0, len(block), 4096):
        block[i] = 1
    return len(block) // (1024 * 1024)


@env.task
async def main() -> str:
    unlimited = await fill.aio(300)
    try:
        await fill.override(resources=flyte.Resources(memory="100Mi")).aio(300)
        limited = "not enforced"
    except flyte.errors.OOMError as e:
        limited = type(e).__name__
    return f"{unlimited}|{limited}"
"""


def test_an_override_of_resources_is_enforced_on_the_devbox(devbox: Devbox, project: Path) -> None:
    (project / "sized.py").write_text(SIZED)
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key, root_dir=project)
    module = load_module(str(project / "sized.py"), project)
    assert flyte.run(module.main).outputs() == ("300|OOMError",)
    sys.modules.pop("sized", None)


def test_retries_and_timeouts_behave_as_locally(devbox: Devbox, project: Path) -> None:
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key, root_dir=project)
    wf = load_module(str(project / "wf.py"), project)
    run = flyte.run(wf.resilient)
    assert run.outputs() == ("attempt 2|MaxRuntimeExceededError",)
    by_task = {a.task_name: a for a in run.actions()}
    assert by_task["wf.flaky_link"].attempts == 3
    assert by_task["wf.slow_step"].phase is ActionPhase.TIMED_OUT


RETRIED = """
import asyncio

import flyte

env = flyte.TaskEnvironment(name="retried")


@env.task(retries=1)
async def fails_then_slow() -> str:
    attempt = flyte.ctx().attempt_number
    if attempt == 0:
        await asyncio.sleep(1.0)
        raise ValueError("the first attempt fails")
    await asyncio.sleep(6.5)  # past the end of the heartbeat long-poll (5 s) sent during attempt 0
    return f"attempt {attempt}"
"""


def test_a_retry_outlives_the_heartbeat_that_named_the_failed_attempt(tmp_path: Path) -> None:
    # One worker: the retry runs where the first attempt failed, while the heartbeat long-poll
    # sent during the first attempt is still out. Its answer ("stop": that attempt ended) must not
    # cancel the retry (it did: unreported, the retry was queued again when its lease ran out and
    # a third attempt ran, 30 s later).
    home, root = tmp_path / "home", tmp_path / "project"
    root.mkdir()
    (root / "retried.py").write_text(RETRIED)
    with running_devbox(home, launch_args(home, workers=1)) as box:
        flyte.init(endpoint=box.endpoint, api_key=box.api_key, root_dir=root)
        module = load_module(str(root / "retried.py"), root)
        run = flyte.run(module.fails_then_slow)
        assert run.outputs() == ("attempt 1",)
        assert run.action.attempts == 2
    sys.modules.pop("retried", None)


TOLERANT = """
import asyncio

import flyte
import flyte.errors

env = flyte.TaskEnvironment(name="tolerant")


@env.task
async def sleepy(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "woke up"


@env.task
async def parent(seconds: float = 60.0) -> str:
    try:
        first = await sleepy(seconds)
    except flyte.errors.ActionAbortedError as e:
        first = f"caught {type(e).__name__}"
    return f"{first} | {await sleepy(0.1)}"
"""


def test_abort_one_action_on_the_devbox_the_parent_catches_it(devbox: Devbox, project: Path) -> None:
    (project / "tolerant.py").write_text(TOLERANT)
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key, root_dir=project)
    wf = load_module(str(project / "tolerant.py"), project)
    run = submit_run(wf.parent, (), {}, RunConfig(name=new_run_name()))
    deadline = time.monotonic() + 60
    running: list[str] = []
    while not running:
        assert time.monotonic() < deadline, "the child never started"
        running = [
            a.name for a in run.actions() if a.task_name == "tolerant.sleepy" and a.phase.value == "running"
        ]
        time.sleep(0.1)
    env = dict(os.environ, FLYTE_HOME=str(project / "client-home"), FLYTE_API_KEY=devbox.api_key)
    cli = [sys.executable, "-m", "flyte.cli.main", "--endpoint", devbox.endpoint]
    aborted = subprocess.run(
        [*cli, "abort", "action", run.name, running[0], "--reason", "enough"],
        cwd=project, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert aborted.returncode == 0, aborted.stdout + aborted.stderr
    assert f"Action '{running[0]}' of run '{run.name}' aborted: enough" in aborted.stdout
    assert run.outputs() == ("caught ActionAbortedError | woke up",)
    phases = sorted(a.phase.value for a in run.actions())
    assert phases == ["aborted", "succeeded", "succeeded"]
    sys.modules.pop("tolerant", None)


LEFT_BEHIND = """
import flyte
import flyte.report

env = flyte.TaskEnvironment(name="left")


@flyte.trace
async def fetch(x: int) -> int:
    return x * 10


@env.task(report=True)
async def main(n: int = 2) -> int:
    flyte.report.log("<h1>hello from the devbox</h1>")
    total = 0
    for i in range(n):
        total += await fetch(i)
    return total
"""


def test_reports_and_traces_of_devbox_runs_are_served_by_the_server(devbox: Devbox, project: Path) -> None:
    (project / "left.py").write_text(LEFT_BEHIND)
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key, root_dir=project)
    wf = load_module(str(project / "left.py"), project)
    run = submit_run(wf.main, (), {}, RunConfig(name=new_run_name()))
    assert run.outputs() == (10,)
    env = dict(os.environ, FLYTE_HOME=str(project / "client-home"), FLYTE_API_KEY=devbox.api_key)
    cli = [sys.executable, "-m", "flyte.cli.main", "--endpoint", devbox.endpoint]

    def flyte_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cli, *args], cwd=project, env=env, capture_output=True, text=True)

    shown = flyte_cli("-of", "json", "get", "action", run.name, "a0")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["report"] == f"{devbox.endpoint}/api/v1/runs/{run.name}/actions/a0/report"
    assert [t["inputs"] for t in data["traces"]] == [{"x": 0}, {"x": 1}]
    assert [t["outputs"] for t in data["traces"]] == [{"o0": 0}, {"o0": 10}]
    copy = project / "copy.html"
    saved = flyte_cli("get", "report", run.name, "-o", str(copy))
    assert saved.returncode == 0, saved.stderr
    assert "hello from the devbox" in copy.read_text()
    # The server keeps it in its own storage, not in a worker's directory only.
    stored = list(devbox.home.rglob(f"reports/{run.name}/a0/*.html"))
    assert len(stored) == 1 and "hello from the devbox" in stored[0].read_text()
    sys.modules.pop("left", None)


def test_a_devbox_action_error_keeps_its_user_traceback(devbox: Devbox, project: Path) -> None:
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key, root_dir=project)
    wf = load_module(str(project / "wf.py"), project)
    run = submit_run(wf.main, (), {"n": 2}, RunConfig(name=new_run_name()))
    run.outputs()
    boom = next(a for a in run.actions() if a.task_name == "wf.boom")
    headers = {"Authorization": f"Bearer {devbox.api_key}"}
    data = httpx.get(f"{devbox.endpoint}/api/v1/runs/{run.name}/actions/{boom.name}", headers=headers).json()
    tb = data["traceback"]
    assert tb.startswith("Traceback (most recent call last):") and "in boom" in tb
    assert tb.rstrip().endswith("ValueError: bad input 2") and "/flyte/" not in tb
    env = dict(os.environ, FLYTE_HOME=str(project / "client-home"), FLYTE_API_KEY=devbox.api_key)
    shown = subprocess.run(
        [sys.executable, "-m", "flyte.cli.main", "--endpoint", devbox.endpoint, "get", "action", run.name, boom.name],
        cwd=project, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "Traceback of the error:" in shown.stdout and "in boom" in shown.stdout
