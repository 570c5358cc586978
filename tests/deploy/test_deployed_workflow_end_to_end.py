"""The runnable tour of deployed work, as a user would do it against one devbox.

The test starts every service it talks to on loopback and stops it afterwards: a devbox
(``flyte start devbox --trigger-time-scale 60``, so trigger time runs 60 times faster), an HTTP
receiver for webhooks, an SMTP server (aiosmtpd) for e-mail, and Debian's ``docker-registry``.
Then, in order, as the README's "Deploying" section describes:

1. ``flyte deploy wf.py app`` registers ``app`` and ``base`` (which it depends on) under one
   content version, ``flyte get task`` lists it, and the task records its image's URI;
2. a new run (``caller.py``) calls the deployed ``base.square`` through ``flyte.remote.Task.get``,
   pauses on a condition (the server POSTs the condition's webhook) that ``flyte signal
   condition`` answers, and on success the server POSTs the run's webhook and sends an e-mail;
3. the one-minute ``FixedRate`` trigger of ``app.tick`` fires every second, at least twice, and
   ``flyte update trigger ... --deactivate`` stops it;
4. ``flyte build`` looks the deployed image's tag up in the registry: present, it is reported as
   cached and not rebuilt; a changed image (another tag) is missing and needs a build, which
   without a local builder fails naming the options.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest

import flyte
import flyte.notify as notify
import flyte.remote
from _services import (
    Devbox,
    Hooks,
    Mailbox,
    cli_args,
    push_minimal_image,
    registry_server,
    running_devbox,
    serve_hooks,
    serve_smtp,
)
from flyte._internal.loader import load_module
from flyte.errors import ImageBuildError
from flyte.models import ActionPhase
from flyte.remote._condition import Condition
from flyte.remote._remote_run import close_clients

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

# The file a team deploys. REGISTRY is where its images live: the test's loopback registry.
WORKFLOW = textwrap.dedent(
    '''
    import os
    from datetime import datetime, timezone

    import flyte

    REGISTRY = os.environ.get("E2E_REGISTRY", "127.0.0.1:5000")
    image = flyte.Image.from_debian_base(
        python_version=(3, 12), registry=REGISTRY, name="e2e-tour"
    ).with_pip_packages("requests")

    base = flyte.TaskEnvironment(name="base", image=image)
    app = flyte.TaskEnvironment(name="app", depends_on=[base])


    @base.task
    async def square(x: int, offset: int = 0) -> int:
        """x squared, plus an offset."""
        return x * x + offset


    @app.task(
        triggers=flyte.Trigger("every_minute", flyte.FixedRate(1), inputs={"when": flyte.TriggerTime})
    )
    async def tick(when: datetime) -> str:
        return f"tick@{when.isoformat()}"
    '''
)

# A new run that uses the deployed task by name, after a person says which offset to add.
CALLER = textwrap.dedent(
    """
    import os

    import flyte
    import flyte.remote

    env = flyte.TaskEnvironment(name="caller")
    square = flyte.remote.Task.get("base.square", auto_version="latest")
    HOOKS = os.environ.get("HOOKS_URL", "http://127.0.0.1:9")  # where the team hears of questions


    @env.task
    async def approved_square(x: int) -> int:
        offset = await flyte.new_condition(
            "offset",
            prompt="Which offset?",
            data_type=int,
            webhook=flyte.ConditionWebhook(f"{HOOKS}/asked", {"answer_at": "{callback_uri}", "what": "{condition}"}),
        )
        return await square(x=x, offset=await offset.wait())
    """
)

T = TypeVar("T")


def eventually(check: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    """Poll ``check`` until it returns something truthy (time-scaled triggers: seconds, not minutes)."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout}s"
        time.sleep(0.2)
    return found


class Tour:
    """The services of the tour and a ``flyte`` CLI pointed at the devbox."""

    def __init__(self, devbox: Devbox, project: Path, hooks: Hooks, smtp: Mailbox, registry: str):
        self.devbox = devbox
        self.project = project
        self.hooks = hooks
        self.smtp = smtp
        self.registry = registry
        self.bin = project / "empty-bin"  # a PATH without docker, podman or buildah
        self.bin.mkdir(exist_ok=True)

    def cli(self, *args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
        env = self.devbox.env(FLYTE_HOME=str(self.project / "client-home"), E2E_REGISTRY=self.registry)
        env.pop("FLYTE_IMAGE_BUILDER", None)
        if path is not None:
            env["PATH"] = path
        cmd = [sys.executable, "-m", "flyte.cli.main", "--endpoint", self.devbox.endpoint, *args]
        return subprocess.run(cmd, cwd=self.project, env=env, capture_output=True, text=True, timeout=120)

    def ok(self, *args: str, path: str | None = None) -> str:
        done = self.cli(*args, path=path)
        assert done.returncode == 0, f"flyte {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done.stdout

    def json(self, *args: str, path: str | None = None) -> Any:
        return json.loads(self.ok(*args, "-of", "json", path=path))


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tour]:
    """Every service of the tour, started for this module and stopped after it (in reverse order)."""
    project = tmp_path_factory.mktemp("tour-project")
    (project / "wf.py").write_text(WORKFLOW)
    (project / "caller.py").write_text(CALLER)
    registry_root = tmp_path_factory.mktemp("tour-registry")
    # registry_server skips the module when docker-registry is not installed
    with (
        serve_hooks() as hooks,
        serve_smtp() as smtp,
        contextmanager(registry_server)(registry_root) as registry,
    ):
        # the server's SMTP settings; HOOKS_URL is read by caller.py where its tasks run (the devbox)
        env = {"FLYTE_SMTP_HOST": "127.0.0.1", "FLYTE_SMTP_PORT": str(smtp.port), "HOOKS_URL": hooks.url}
        home = tmp_path_factory.mktemp("tour-devbox")
        with running_devbox(home, cli_args("--trigger-time-scale", "60"), extra_env=env) as devbox:
            yield Tour(devbox, project, hooks, smtp, registry)
        for name in ("wf", "caller"):
            sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def deployed(tour: Tour) -> dict[str, dict[str, Any]]:
    """``flyte deploy wf.py app``: what was registered, by task name."""
    return {t["name"]: t for t in tour.json("deploy", "wf.py", "app")}


def test_deploy_and_list_versions(tour: Tour, deployed: dict[str, dict[str, Any]]) -> None:
    assert set(deployed) == {"base.square", "app.tick"}
    [version] = {t["version"] for t in deployed.values()}
    assert all(t["created"] for t in deployed.values())
    # an unchanged redeploy keeps the content version and registers nothing new
    again = tour.json("deploy", "wf.py", "app")
    assert [(t["version"], t["created"]) for t in again] == [(version, False)] * 2
    # the versions a user lists: the content version, and the table names both tasks
    assert [t["version"] for t in tour.json("get", "task", "base.square")] == [version]
    table = tour.ok("get", "task")
    assert "base.square" in table and "app.tick" in table and version in table
    one = tour.ok("get", "task", "base.square", "--version", version)
    assert "required:     x" in one and "defaults:     offset" in one
    # the image URI the deploy recorded is the one `flyte build` gives the image (its content tag)
    image = _recorded_image(deployed["base.square"])
    assert image.startswith(f"{tour.registry}/e2e-tour:")
    assert image in one  # `flyte get task` shows it too


def _recorded_image(task: dict[str, Any]) -> str:
    """The image URI ``flyte deploy`` recorded for a task."""
    image = task["spec"]["image"]
    assert isinstance(image, str), task["spec"]
    return image


def test_a_new_run_calls_the_deployed_task_after_a_signal_and_notifies(
    tour: Tour, deployed: dict[str, dict[str, Any]]
) -> None:
    flyte.init(endpoint=tour.devbox.endpoint, api_key=tour.devbox.api_key, root_dir=tour.project)
    try:
        caller = load_module(str(tour.project / "caller.py"), tour.project)
        done = ActionPhase.SUCCEEDED
        run = flyte.with_runcontext(
            notifications=(
                notify.Webhook(on_phase=done, url=f"{tour.hooks.url}/tour"),
                notify.Email(
                    on_phase=done,
                    recipients=["team@example.com"],
                    subject="{{.Run.Name}} is {{.Phase}}",
                    body="Run {{.Run.Name}} ended {{.Phase}}.",
                ),
            )
        ).run(caller.approved_square, x=3)

        # the run waits for a person: the condition shows as paused, `flyte signal` answers it
        cond = eventually(
            lambda: Condition.get("offset", run_name=run.name), "the condition 'offset' to appear"
        )
        listed = tour.ok("get", "condition", run.name)
        assert "offset" in listed and "paused" in listed and "Which offset?" in listed
        # the server announced the question to the condition's webhook, with the URL that answers it
        [asked] = [h["json"] for h in tour.hooks.wait_for("/asked") if run.name in h["json"]["answer_at"]]
        signal_url = f"{tour.devbox.endpoint}/api/v1/conditions/{run.name}/{cond.action_name}/signal"
        assert asked == {"answer_at": signal_url, "what": "offset"}
        answered = tour.ok("signal", "condition", run.name, "offset", "1")
        assert "offset" in answered
        assert run.outputs() == (10,)  # 3 * 3 + 1, computed by the deployed base.square
        # what `flyte get action` shows: the caller, its answered condition, the deployed task's child
        phases = {a["task_name"]: a["phase"] for a in tour.json("get", "action", run.name)}
        assert phases == {
            "caller.approved_square": "succeeded",
            "condition:offset": "succeeded",
            "base.square": "succeeded",
        }

        # the server told the team: one webhook with the run's JSON, one e-mail
        [hook] = [h for h in tour.hooks.wait_for("/tour") if h["json"]["run"] == run.name]
        assert (hook["json"]["phase"], hook["json"]["task"]) == ("SUCCEEDED", "caller.approved_square")
        assert hook["json"]["url"] == f"{tour.devbox.endpoint}/runs/{run.name}"
        [mail] = [m for m in tour.smtp.wait_for(1) if m["message"]["Subject"] == f"{run.name} is SUCCEEDED"]
        assert mail["to"] == ["team@example.com"]
        assert mail["message"].get_payload(decode=True).decode().strip() == f"Run {run.name} ended SUCCEEDED."
    finally:
        close_clients()


def test_the_fixed_rate_trigger_fires_every_second_until_deactivated(
    tour: Tour, deployed: dict[str, dict[str, Any]]
) -> None:
    [trigger] = tour.json("get", "trigger", "app.tick")
    assert (trigger["name"], trigger["active"]) == ("every_minute", True)  # active once deployed

    def two_fires() -> list[dict[str, Any]] | None:
        fires = tour.json("get", "trigger", "app.tick", "every_minute")["fires"]
        return fires if len(fires) >= 2 else None

    eventually(two_fires, "two fires of a one-minute trigger at time scale 60", timeout=90)
    stopped = tour.ok("update", "trigger", "every_minute", "app.tick", "--deactivate")
    assert "now inactive" in stopped
    shown = tour.json("get", "trigger", "app.tick", "every_minute")
    assert shown["active"] is False
    ticks = [f["scheduled_at"] for f in shown["fires"]]
    assert len(ticks) >= 2
    assert all(b - a == 60 for a, b in zip(ticks, ticks[1:], strict=False))  # a trigger-time minute apart

    # each fire is a run of the deployed task, labelled with its trigger and given its scheduled time
    labelled = tour.json("get", "runs", "--label", "trigger=every_minute")
    assert {f["run_name"] for f in shown["fires"]} <= {r["name"] for r in labelled}
    flyte.init(endpoint=tour.devbox.endpoint, api_key=tour.devbox.api_key)
    try:
        first = flyte.remote.Run.get(shown["fires"][0]["run_name"])
        when = datetime.fromtimestamp(ticks[0], timezone.utc)
        assert first.outputs() == (f"tick@{when.isoformat()}",)
    finally:
        close_clients()

    # deactivated: three trigger-time minutes pass (3 s at scale 60) without another fire
    time.sleep(3)
    assert len(tour.json("get", "trigger", "app.tick", "every_minute")["fires"]) == len(ticks)


def test_the_image_cache_against_the_registry(
    tour: Tour, deployed: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    image = _recorded_image(deployed["base.square"])
    empty_path = str(tour.bin)

    # not pushed yet: the tag is missing, so it needs a build, and no builder is here
    missing = tour.cli("build", "wf.py", "base", path=empty_path)
    assert missing.returncode != 0
    for option in ("docker", "podman", "buildah"):
        assert option in missing.stderr, missing.stderr
    assert image in missing.stderr

    # the dry run prints the Dockerfile the build would use
    dry = tour.ok("build", "--dry-run", "wf.py", "base", path=empty_path)
    assert f"# Dockerfile of {image}" in dry and "FROM python:3.12-slim-bookworm" in dry

    # pushed: the same tag is found in the registry and not rebuilt, with no builder needed
    push_minimal_image(tour.registry, image)
    cached = tour.json("build", "wf.py", "base", path=empty_path)
    assert [(b["environment"], b["image"], b["status"]) for b in cached] == [("base", image, "exists")]
    table = tour.ok("build", "wf.py", "base", path=empty_path)
    assert "in registry (not rebuilt)" in table

    # flyte.build says the same from Python; a changed image has another tag, missing from the registry
    monkeypatch.setenv("PATH", empty_path)
    monkeypatch.delenv("FLYTE_IMAGE_BUILDER", raising=False)
    same = flyte.Image.from_debian_base(
        python_version=(3, 12), registry=tour.registry, name="e2e-tour"
    ).with_pip_packages("requests")
    assert same.uri == image
    assert flyte.build(same).status == "exists"
    changed = same.with_env_vars({"MODE": "prod"})
    assert changed.uri != image
    with pytest.raises(ImageBuildError, match="no image builder"):
        flyte.build(changed)
