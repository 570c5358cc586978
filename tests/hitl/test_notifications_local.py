"""Notifications of local runs, delivered for real: webhooks to a loopback HTTP server, e-mail to a
loopback SMTP server (with a password from a flyte secret), and an endpoint that always fails
(tried again, logged, and the run still succeeds)."""

from __future__ import annotations

from pathlib import Path

import pytest

import flyte
import flyte.notify as notify
from flyte._internal.loader import load_module
from flyte._internal.secrets import SecretStore
from flyte.models import ActionPhase

from .conftest import Hooks, Mailbox

pytestmark = pytest.mark.integration


@pytest.fixture
def wf(project: Path, hooks: Hooks, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HOOKS_URL", hooks.url)
    flyte.init(root_dir=project)
    return load_module(str(project / "hitl_wf.py"), project)


def test_a_run_sends_its_webhooks_and_email_and_a_failing_endpoint_does_not_fail_it(
    wf, hooks: Hooks, smtp: Mailbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FLYTE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("FLYTE_SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("FLYTE_SMTP_USER", "flyte-bot")
    monkeypatch.setenv("FLYTE_SMTP_PASSWORD_SECRET", "smtp-password")
    SecretStore().put("smtp-password", b"s3cr3t-pw")
    on_success = ActionPhase.SUCCEEDED
    run = flyte.with_runcontext(
        name="notify-local-1",
        notifications=(
            notify.Webhook(on_phase=on_success, url=f"{hooks.url}/run"),
            notify.Webhook(on_phase=on_success, url=f"{hooks.url}/fail/always"),
            notify.Email(
                on_phase=on_success, recipients=["oncall@example.com"], subject="{{.Run.Name}} {{.Phase}}"
            ),
            notify.Slack(on_phase=ActionPhase.FAILED, webhook_url=f"{hooks.url}/slack"),
        ),
    ).run(wf.notified, 3)
    assert run.outputs() == (10,)

    [task_hook] = hooks.at("/task")  # the task's own notification, from its action
    assert task_hook["json"] == {"task": "hitl.square", "phase": "SUCCEEDED"}
    [run_hook] = hooks.at("/run")
    assert run_hook["json"]["run"] == "notify-local-1"
    assert run_hook["json"]["phase"] == "SUCCEEDED" and run_hook["json"]["task"] == "hitl.notified"
    assert len(hooks.at("/fail/always")) == 3  # tried three times
    assert hooks.at("/slack") == []  # FAILED only

    [mail] = smtp.wait_for(1)
    assert mail["to"] == ["oncall@example.com"]
    assert mail["message"]["Subject"] == "notify-local-1 SUCCEEDED"
    assert "Run: notify-local-1" in mail["message"].get_payload()
    assert smtp.logins == [("flyte-bot", "s3cr3t-pw")]

    err = capsys.readouterr().err
    failed = [line for line in err.splitlines() if "was not delivered" in line]
    assert len(failed) == 1
    assert "Webhook notification for run 'notify-local-1' (SUCCEEDED) to http://127.0.0.1" in failed[0]
    assert "after 3 tries: HTTP 500" in failed[0]
    assert "/fail/always" not in err and "s3cr3t-pw" not in err


def test_a_failed_run_is_notified_with_its_error(wf, hooks: Hooks) -> None:
    slack = notify.Slack(on_phase=ActionPhase.FAILED, webhook_url=f"{hooks.url}/slack",
                         message="{{.Run.Name}} failed: {{.Error}}")  # fmt: skip
    teams = notify.Teams(
        on_phase=(ActionPhase.FAILED, ActionPhase.TIMED_OUT), webhook_url=f"{hooks.url}/teams"
    )
    with pytest.raises(ValueError, match="bad input 1"):
        flyte.with_runcontext(name="notify-local-2", notifications=(slack, teams)).run(wf.fails, 1)
    [message] = hooks.at("/slack")
    assert message["json"] == {"text": "notify-local-2 failed: ValueError: bad input 1"}
    [card] = hooks.at("/teams")
    assert card["json"]["title"] == "Run notify-local-2 FAILED"
    assert "Error: ValueError: bad input 1" in card["json"]["text"]
