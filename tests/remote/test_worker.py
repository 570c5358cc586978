"""Runs through the client, the fake control plane and real worker processes
(``python -m flyte._bin.worker``): fan-out, a failing child caught by its parent, the cache,
retries, per-run env vars, logs, abort, and a server restart in the middle of a run."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import flyte
from flyte._internal.loader import load_module
from flyte._internal.run_config import RunConfig, new_run_name
from flyte._internal.secrets import SecretStore
from flyte.errors import (
    ActionAbortedError,
    MaxRuntimeExceededError,
    RuntimeUserError,
    SecretNotFoundError,
)
from flyte.models import ActionPhase
from flyte.remote._remote_run import RemoteRun, get_action, get_run, list_runs, submit_run

from .conftest import FakeServer

pytestmark = pytest.mark.integration


def connect(fake: FakeServer, project: Path) -> ModuleType:
    flyte.init(endpoint=fake.endpoint, api_key=fake.api_key, root_dir=project)
    return load_module(str(project / "wf.py"), project)


def start(task: Any, **inputs: Any) -> RemoteRun:
    return submit(task, RunConfig(name=new_run_name()), **inputs)


def submit(task: Any, config: RunConfig, **inputs: Any) -> RemoteRun:
    return submit_run(task, (), inputs, config)


def by_task(run: RemoteRun) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for action in run.actions():
        found.setdefault(action.task_name, []).append(action)
    return found


def test_a_workflow_runs_on_workers(fake_server: FakeServer, workflow: Path) -> None:
    wf = connect(fake_server, workflow)
    fake_server.start_worker()
    run = start(wf.main, n=5)
    assert run.url == f"{fake_server.endpoint}/runs/{run.name}"
    assert run.outputs() == ("30|bad input 5|1005|10|remote",)
    assert run.phase is ActionPhase.SUCCEEDED and run.done()
    actions = by_task(run)
    assert len(actions["wf.square"]) == 5 and all(
        a.phase is ActionPhase.SUCCEEDED for a in actions["wf.square"]
    )
    (boom,) = actions["wf.boom"]
    assert boom.phase is ActionPhase.FAILED and boom.error_message == "ValueError: bad input 5"
    assert isinstance(boom.error, ValueError)
    assert actions["wf.cached"][0].cache_status == "miss"
    assert sorted(line for a in actions["wf.square"] for line in a.logs()) == [
        f"[stdout] squaring {i}" for i in range(5)
    ]
    assert run.inputs() == {"n": 5}
    # the same call again: the cached task is not executed a second time
    again = start(wf.main, n=5)
    assert again.outputs() == run.outputs()
    assert by_task(again)["wf.cached"][0].cache_status == "hit"
    # lookups by name
    assert get_run(run.name).phase is ActionPhase.SUCCEEDED
    assert [r.name for r in list_runs(task_name="wf.main")] == [again.name, run.name]
    assert get_action(run.name, boom.name).error_message == boom.error_message
    bundles = [k for k in fake_server.plane.blobs if k.startswith("bundles/")]
    assert len(bundles) == 1  # uploaded once for both runs


def test_fan_out_of_a_hundred_children(fake_server: FakeServer, workflow: Path) -> None:
    wf = connect(fake_server, workflow)
    fake_server.start_worker(concurrency=8)  # the parent's wait does not take one of the 8 slots
    run = start(wf.fanout, n=100)
    assert run.outputs() == (sum(i * i for i in range(100)),)
    assert len(run.actions()) == 101


def test_failures_retries_and_env_vars(fake_server: FakeServer, workflow: Path, tmp_path: Path) -> None:
    wf = connect(fake_server, workflow)
    fake_server.start_worker()
    flaky = start(wf.flaky, marker=str(tmp_path / "marker"))
    assert flaky.outputs() == (1,)  # the second attempt (attempt_number 1) succeeded
    assert flaky.action.attempts == 2
    failing = start(wf.custom_error)
    with pytest.raises(wf.Oops, match="not a builtin") as info:  # the task module's own class
        failing.outputs()
    assert isinstance(info.value, RuntimeUserError)
    assert info.value.code == "Oops" and failing.phase is ActionPhase.FAILED
    assert failing.error_message == "Oops: not a builtin"
    env = submit(wf.reads_env, RunConfig(name=new_run_name(), env_vars={"GREETING": "hello"}))
    assert env.outputs() == ("hello",)
    assert start(wf.reads_env).outputs() == ("unset",)  # not leaked into the worker's environment


def test_abort_reaches_the_running_actions(fake_server: FakeServer, workflow: Path) -> None:
    wf = connect(fake_server, workflow)
    fake_server.start_worker()
    run = start(wf.waits_on_sleepy, seconds=120.0)
    deadline = time.monotonic() + 20
    while len(run.actions()) < 2 or any(a.phase is not ActionPhase.RUNNING for a in run.actions()):
        assert time.monotonic() < deadline, [a.phase for a in run.actions()]
        time.sleep(0.05)
    run.abort("enough")
    run.wait(timeout=10)
    assert run.phase is ActionPhase.ABORTED
    assert all(a.phase is ActionPhase.ABORTED for a in run.actions())
    with pytest.raises(ActionAbortedError, match="enough"):
        run.outputs()
    # the worker learns it from its heartbeat and stops, without reporting either action
    time.sleep(6)
    assert not fake_server.plane.reports
    # and it is free for new work
    assert start(wf.reads_env).outputs() == ("unset",)


def test_a_server_restart_mid_run_is_survived(fake_server: FakeServer, workflow: Path) -> None:
    wf = connect(fake_server, workflow)
    fake_server.start_worker()
    run = start(wf.waits_on_sleepy, seconds=3.0)
    run.wait(wait_for="running", timeout=20)
    restart = threading.Thread(target=fake_server.restart, args=(2.0,))
    restart.start()
    assert run.outputs() == ("woke",)  # the client, the worker and the parent's wait all retried
    restart.join()
    assert [e.phase for e in run.watch() if e.kind == "phase" and e.action == "a0"][-1] == "succeeded"


def test_timeouts_secrets_groups_and_context(fake_server: FakeServer, workflow: Path) -> None:
    wf = connect(fake_server, workflow)
    fake_server.start_worker()
    slow = start(wf.too_slow)
    with pytest.raises(MaxRuntimeExceededError, match="max_runtime of 0.5s"):
        slow.outputs()
    assert slow.phase is ActionPhase.TIMED_OUT
    missing = start(wf.reads_secret)
    with pytest.raises(SecretNotFoundError):
        missing.outputs()
    assert missing.action.attempts == 1  # a missing secret is not retried
    SecretStore().put("api-token", "t0ken")
    assert start(wf.reads_secret).outputs() == ("t0ken",)
    grouped = start(wf.in_group)
    assert grouped.outputs() == ("g1|{'team': 'blue'}",)
    assert [a.group for a in grouped.actions()] == [None, "g1"]
