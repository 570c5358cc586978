"""Conditions and notifications on a real devbox (a subprocess with worker processes): a run pauses
on a condition, the server POSTs its webhook, ``flyte signal`` answers it, a timeout reaches the
parent; the server sends task and run notifications (webhooks and e-mail) and retries a failing
endpoint without failing the run."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

import flyte
import flyte.errors
import flyte.notify as notify
from _services import Devbox, running_devbox
from flyte._internal.loader import load_module
from flyte.cli.main import main
from flyte.models import ActionPhase
from flyte.remote._condition import Condition
from flyte.remote._remote_run import close_clients

from .conftest import WORKFLOW, Hooks, Mailbox, serve_hooks, serve_smtp

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def services() -> Iterator[tuple[Hooks, Mailbox]]:
    with serve_hooks() as hooks, serve_smtp() as smtp:
        yield hooks, smtp


@pytest.fixture(scope="module")
def devbox(services: tuple[Hooks, Mailbox], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devbox]:
    hooks, smtp = services
    home = tmp_path_factory.mktemp("hitl-devbox")
    env = {"HOOKS_URL": hooks.url, "FLYTE_SMTP_HOST": "127.0.0.1", "FLYTE_SMTP_PORT": str(smtp.port)}
    with running_devbox(home, extra_env=env) as box:
        yield box


@pytest.fixture
def wf(
    devbox: Devbox, services: tuple[Hooks, Mailbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Any:
    hooks, _ = services
    monkeypatch.setenv("HOOKS_URL", hooks.url)  # the client builds the task notifications it sends
    root = tmp_path / "project"
    root.mkdir()
    (root / "hitl_wf.py").write_text(WORKFLOW)
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key, root_dir=root)
    try:
        yield load_module(str(root / "hitl_wf.py"), root)
    finally:
        close_clients()


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _condition(run: str, name: str, timeout: float = 60) -> Condition:
    deadline = time.monotonic() + timeout
    while (found := Condition.get(name, run_name=run)) is None:
        assert time.monotonic() < deadline, f"condition {name} of run {run} did not appear"
        time.sleep(0.1)
    return found


def test_a_condition_on_the_server_pauses_posts_its_webhook_and_is_answered_by_flyte_signal(
    wf: Any, devbox: Devbox, services: tuple[Hooks, Mailbox]
) -> None:
    hooks, _ = services
    run = flyte.run(wf.add_approved, 1)
    cond = _condition(run.name, "bump")
    assert (cond.phase, cond.expected_type, cond.prompt) == ("PAUSED", int, "How much to add?")

    shown = _cli("get", "action", run.name, "-of", "json")
    assert shown.exit_code == 0, shown.output
    phases = {a["task_name"]: a["phase"] for a in json.loads(shown.output)}
    assert phases == {"hitl.add_approved": "running", "condition:bump": "paused"}

    announced = [h for h in hooks.wait_for("/condition") if run.name in h["json"]["answer_at"]]
    callback = f"{devbox.endpoint}/api/v1/conditions/{run.name}/{cond.action_name}/signal"
    assert announced[0]["json"] == {"answer_at": callback, "what": "bump"}

    # the callback URI answers the condition; a value of the wrong type is refused (400) and recorded nowhere
    auth = {"Authorization": f"Bearer {devbox.api_key}"}
    refused = httpx.post(callback, json={"value": "three"}, headers=auth, timeout=10)
    assert refused.status_code == 400
    assert "condition 'bump' expects an int value, got 'three'" in refused.json()["detail"]
    wrong = _cli("signal", "condition", run.name, "bump", "2.5")
    assert wrong.exit_code == 1 and "expects an int value, got '2.5'" in wrong.output
    listed = _cli("get", "condition", run.name)
    assert "paused" in listed.output and "bump" in listed.output

    answered = _cli("signal", "condition", run.name, "bump", "41")
    assert answered.exit_code == 0, answered.output
    assert run.outputs() == (42,)
    after = json.loads(_cli("get", "condition", run.name, "-of", "json").output)
    assert [(c["name"], c["phase"], c["value"]) for c in after] == [("bump", "succeeded", 41)]
    again = httpx.post(callback, json={"value": 1}, headers=auth, timeout=10)
    assert again.status_code == 409 and "already answered with 41" in again.json()["detail"]


def test_a_condition_timeout_on_the_server_is_caught_by_the_parent(wf: Any) -> None:
    run = flyte.run(wf.guarded, 0.5)
    assert run.outputs() == ("caught ConditionTimedoutError",)
    [cond] = Condition.listall(run_name=run.name)
    assert cond.phase == "TIMED_OUT"


def test_a_recovered_run_on_the_server_replays_the_answer(wf: Any, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    run = flyte.run(wf.approve_then_check, str(marker))
    _condition(run.name, "bump2").signal(7)
    with pytest.raises(RuntimeError, match="marker missing"):
        run.outputs()
    marker.touch()
    again = flyte.rerun(run.name, recover=True)
    assert again.outputs() == (7,)  # nobody answered this time
    [cond] = Condition.listall(run_name=again.name)
    assert cond.record.resolved_by == f"recovered from run '{run.name}'"


def test_the_server_sends_task_and_run_notifications_and_survives_a_failing_endpoint(
    wf: Any, services: tuple[Hooks, Mailbox], devbox: Devbox
) -> None:
    hooks, smtp = services
    done = ActionPhase.SUCCEEDED
    run = flyte.with_runcontext(
        notifications=(
            notify.Webhook(on_phase=done, url=f"{hooks.url}/server-run"),
            notify.Webhook(on_phase=done, url=f"{hooks.url}/fail/server"),
            notify.Email(
                on_phase=done, recipients=["team@example.com"], subject="{{.Run.Name}} is {{.Phase}}"
            ),
        )
    ).run(wf.notified, 4)
    assert run.outputs() == (17,)
    [run_hook] = [h for h in hooks.wait_for("/server-run") if h["json"]["run"] == run.name]
    assert (run_hook["json"]["phase"], run_hook["json"]["task"]) == ("SUCCEEDED", "hitl.notified")
    assert run_hook["json"]["url"] == f"{devbox.endpoint}/runs/{run.name}"
    assert {"task": "hitl.square", "phase": "SUCCEEDED"} in [h["json"] for h in hooks.wait_for("/task")]
    assert len(hooks.wait_for("/fail/server", count=3)) == 3  # retried
    mail = [m for m in smtp.wait_for(1) if m["message"]["Subject"] == f"{run.name} is SUCCEEDED"]
    assert mail and mail[0]["to"] == ["team@example.com"]
    time.sleep(1.0)  # a fourth try would have come by now
    assert len(hooks.at("/fail/server")) == 3
    assert "not delivered" in devbox.log.read_text()

    failing = flyte.with_runcontext(
        notifications=notify.Slack(
            on_phase=ActionPhase.FAILED,
            webhook_url=f"{hooks.url}/server-slack",
            message="{{.Run.Name}}: {{.Error}}",
        )  # fmt: skip
    ).run(wf.fails, 2)
    with pytest.raises(flyte.errors.RuntimeUserError, match="bad input 2"):
        failing.outputs()
    [slack] = [h for h in hooks.wait_for("/server-slack") if failing.name in h["json"]["text"]]
    assert slack["json"]["text"] == f"{failing.name}: ValueError: bad input 2"


def test_a_sync_task_on_the_server_waits_and_an_aborted_run_ends_its_condition(wf: Any) -> None:
    run = flyte.run(wf.sync_note)
    _condition(run.name, "note").signal("because")
    assert run.outputs() == ("note: because",)

    waiting = flyte.run(wf.add_approved, 5)
    cond = _condition(waiting.name, "bump")
    waiting.abort("changed my mind")
    deadline = time.monotonic() + 30
    while (cond := _condition(waiting.name, "bump")).phase == "PAUSED":
        assert time.monotonic() < deadline, "the condition of the aborted run still waits"
        time.sleep(0.1)
    assert cond.phase == "ABORTED"
    late = _cli("signal", "condition", waiting.name, "bump", "1")
    assert late.exit_code == 1 and "has ended (aborted" in late.output
