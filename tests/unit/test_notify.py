"""flyte.notify: the notification types, and their delivery when a local run or action ends."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

import flyte
import flyte.notify as notify
from flyte.models import ActionPhase

env = flyte.TaskEnvironment(name="notify_tests")


class Received:
    """What a loopback server was sent."""

    def __init__(self) -> None:
        self.items: list[dict] = []
        self.event = threading.Event()


@pytest.fixture
def webhook() -> Iterator[tuple[str, Received]]:
    """A real HTTP server on 127.0.0.1 recording each request's path, headers and JSON body."""
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.items.append(
                {
                    "method": "POST",
                    "path": self.path,
                    "headers": dict(self.headers),
                    "json": json.loads(body or b"null"),
                }
            )
            self.send_response(200)
            self.end_headers()
            received.event.set()

        do_PUT = do_POST

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _unused_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@env.task
async def add(x: int, y: int) -> int:
    return x + y


@env.task
async def explode(x: int) -> int:
    raise ValueError(f"bad input {x}")


# -- the types ------------------------------------------------------------------------------------


def test_on_phase_accepts_phases_and_names_and_normalises_to_a_tuple():
    assert notify.Webhook(on_phase=ActionPhase.FAILED, url="http://x").on_phase == (ActionPhase.FAILED,)
    n = notify.Slack(on_phase=["SUCCEEDED", "timed_out"], webhook_url="http://x")
    assert n.on_phase == (ActionPhase.SUCCEEDED, ActionPhase.TIMED_OUT)


def test_on_phase_must_be_a_supported_terminal_phase():
    with pytest.raises(ValueError, match="RUNNING are not supported"):
        notify.Webhook(on_phase=ActionPhase.RUNNING, url="http://x")
    with pytest.raises(ValueError, match="unknown phase 'DONE'"):
        notify.Webhook(on_phase="DONE", url="http://x")
    with pytest.raises(ValueError, match="at least one phase"):
        notify.Webhook(on_phase=(), url="http://x")


def test_required_fields_and_defaults():
    with pytest.raises(ValueError, match="at least one recipient"):
        notify.Email(on_phase=ActionPhase.FAILED, recipients=[])
    with pytest.raises(ValueError, match="webhook_url is required"):
        notify.Slack(on_phase=ActionPhase.FAILED, webhook_url="")
    with pytest.raises(ValueError, match="url is required"):
        notify.Webhook(on_phase=ActionPhase.FAILED, url="")
    with pytest.raises(ValueError, match="method must be one of"):
        notify.Webhook(on_phase=ActionPhase.FAILED, url="http://x", method="FETCH")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="name must be a non-empty"):
        notify.NamedRule("")
    email = notify.Email(on_phase=ActionPhase.FAILED, recipients=["a@example.com"], cc=["b@example.com"])
    assert email.recipients == ("a@example.com",) and email.cc == ("b@example.com",) and email.bcc == ()
    assert email.subject == "Run {{.Run.Name}} {{.Phase}}"
    assert notify.Slack(on_phase=ActionPhase.FAILED, webhook_url="http://x").message
    assert (
        notify.Teams(on_phase=ActionPhase.FAILED, webhook_url="http://x").title
        == "Run {{.Run.Name}} {{.Phase}}"
    )
    assert set(notify.Webhook(on_phase=ActionPhase.FAILED, url="http://x").body) >= {"run", "phase", "error"}


def test_notifications_options_are_validated():
    with pytest.raises(TypeError, match="with_runcontext: notifications takes flyte.notify objects"):
        flyte.with_runcontext(notifications=["oncall@example.com"])
    with pytest.raises(TypeError, match="Task 'notify_tests.add': notifications takes"):
        add.override(notifications=[object()])


# -- delivery ----------------------------------------------------------------------------------------


def test_a_failing_run_posts_its_webhook_with_the_run_and_the_error(webhook):
    url, received = webhook
    hook = notify.Webhook(
        on_phase=ActionPhase.FAILED, url=f"{url}/hooks/{{run.name}}", headers={"X-Token": "s3cret"}
    )
    with pytest.raises(ValueError, match="bad input 3"):
        flyte.with_runcontext(name="fails-1", notifications=hook).run(explode, 3)
    assert len(received.items) == 1
    request = received.items[0]
    assert request["path"] == "/hooks/fails-1"
    assert request["headers"]["X-Token"] == "s3cret"
    body = request["json"]
    assert body["run"] == "fails-1"
    assert body["task"] == "notify_tests.explode"
    assert body["action"] == "a0"
    assert body["phase"] == "FAILED"
    assert "ValueError: bad input 3" in body["error"]
    assert body["url"].startswith("file://") and body["url"].endswith("/runs/fails-1")


def test_a_succeeding_run_posts_slack_and_teams_messages_with_templates_rendered(webhook):
    url, received = webhook
    run = flyte.with_runcontext(
        name="ok-1",
        notifications=(
            notify.Slack(
                on_phase=ActionPhase.SUCCEEDED, webhook_url=f"{url}/slack", message="{task.name} {run.phase}"
            ),
            notify.Teams(
                on_phase=ActionPhase.SUCCEEDED, webhook_url=f"{url}/teams", title="Done {{.Run.Name}}"
            ),
            notify.Webhook(on_phase=ActionPhase.FAILED, url=f"{url}/never"),
        ),
    ).run(add, 1, 2)
    assert run.outputs() == (3,)
    by_path = {r["path"]: r["json"] for r in received.items}
    assert set(by_path) == {"/slack", "/teams"}
    assert by_path["/slack"] == {"text": "notify_tests.add SUCCEEDED"}
    assert by_path["/teams"]["title"] == "Done ok-1"
    assert "Phase: SUCCEEDED" in by_path["/teams"]["text"]


def test_a_custom_body_and_method_are_rendered_recursively(webhook):
    url, received = webhook
    hook = notify.Webhook(
        on_phase=ActionPhase.SUCCEEDED,
        url=f"{url}/custom",
        method="PUT",
        body={
            "summary": "{{.Task.Name}} -> {{.Phase}}",
            "tags": ["{run.name}", 7],
            "nested": {"e": "{{.Error}}"},
        },
    )
    flyte.with_runcontext(name="custom-1", notifications=hook).run(add, 2, 2)
    assert received.items[0]["json"] == {
        "summary": "notify_tests.add -> SUCCEEDED",
        "tags": ["custom-1", 7],
        "nested": {"e": ""},
    }


def test_an_unreachable_webhook_warns_once_and_never_fails_the_run(capsys):
    port = _unused_port()
    hook = notify.Slack(
        on_phase=ActionPhase.SUCCEEDED, webhook_url=f"http://127.0.0.1:{port}/T000/B000/secretpath"
    )
    run = flyte.with_runcontext(name="unreachable-1", notifications=hook).run(add, 1, 1)
    assert run.outputs() == (2,)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("flyte.notify:")]
    assert len(lines) == 1
    assert "Slack notification for run 'unreachable-1' (SUCCEEDED)" in lines[0]
    assert "not delivered" in lines[0]
    assert "secretpath" not in err  # webhook paths carry credentials: never printed


@env.task(notifications=())
async def quiet(x: int) -> int:
    return x


def test_task_notifications_fire_for_each_action_that_reaches_the_phase(webhook):
    url, received = webhook
    hook = notify.Webhook(on_phase=(ActionPhase.FAILED, ActionPhase.SUCCEEDED), url=f"{url}/task")
    noisy_explode = explode.override(notifications=hook)
    noisy_add = add.override(notifications=hook)

    @env.task
    async def parent() -> int:
        try:
            await noisy_explode(1)
        except Exception:
            pass
        return await noisy_add(2, 3) + await quiet(0)

    run = flyte.with_runcontext(name="tasks-1").run(parent)
    assert run.outputs() == (5,)
    bodies = sorted((r["json"]["task"], r["json"]["phase"]) for r in received.items)
    assert bodies == [("notify_tests.add", "SUCCEEDED"), ("notify_tests.explode", "FAILED")]
    assert all(r["json"]["action"] != "a0" for r in received.items)


def test_email_without_an_smtp_server_is_noted_as_not_sent(capsys, monkeypatch):
    monkeypatch.delenv("FLYTE_SMTP_HOST", raising=False)
    mail = notify.Email(on_phase=ActionPhase.SUCCEEDED, recipients=["oncall@example.com"])
    flyte.with_runcontext(name="mail-1", notifications=mail).run(add, 1, 1)
    err = capsys.readouterr().err
    assert "Email notification for run 'mail-1' (SUCCEEDED) not sent: set FLYTE_SMTP_HOST" in err


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, list[str]]]:
    """A minimal SMTP server on 127.0.0.1 that accepts every message and keeps its DATA."""
    messages: list[str] = []

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.wfile.write(b"220 localhost ready\r\n")
            while line := self.rfile.readline():
                verb = line.decode().strip().split(" ")[0].upper()
                if verb in ("EHLO", "HELO"):
                    self.wfile.write(b"250-localhost\r\n250 SIZE 100000\r\n")
                elif verb == "DATA":
                    self.wfile.write(b"354 go on\r\n")
                    data = []
                    while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                        data.append(chunk.decode())
                    messages.append("".join(data))
                    self.wfile.write(b"250 queued\r\n")
                elif verb == "QUIT":
                    self.wfile.write(b"221 bye\r\n")
                    return
                else:
                    self.wfile.write(b"250 ok\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], messages
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_email_is_sent_through_the_configured_smtp_server(smtp_server, monkeypatch):
    port, messages = smtp_server
    monkeypatch.setenv("FLYTE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("FLYTE_SMTP_PORT", str(port))
    mail = notify.Email(
        on_phase=ActionPhase.FAILED,
        recipients=["oncall@example.com"],
        subject="Alert: {task.name} {{.Phase}}",
    )
    with pytest.raises(ValueError):
        flyte.with_runcontext(name="mail-2", notifications=mail).run(explode, 0)
    assert len(messages) == 1
    assert "Subject: Alert: notify_tests.explode FAILED" in messages[0]
    assert "To: oncall@example.com" in messages[0]
    assert "Run: mail-2" in messages[0]


def test_named_rules_are_skipped_locally_with_a_note(capsys):
    run = flyte.with_runcontext(notifications=notify.NamedRule("oncall")).run(add, 1, 1)
    assert run.outputs() == (2,)
    assert "NamedRule 'oncall' is configured on a control plane" in capsys.readouterr().err
