"""``flyte start ui`` over a local store, in Chromium: the runs of ``flyte run --local``, their tree,
a failing action's error and logs, and aborting a local run that is executing in another process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import WORKFLOW, LocalConsole, check_widths, flyte_cli, start_local_console, stop

pytestmark = pytest.mark.integration
expect = pytest.importorskip(
    "playwright.sync_api", reason="the test extra's playwright is not installed"
).expect

WAIT_MS = 60_000


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "wf.py").write_text(WORKFLOW)
    return root


@pytest.fixture
def console(tmp_path: Path) -> Iterator[LocalConsole]:
    found = start_local_console(tmp_path / "home")
    try:
        yield found
    finally:
        stop(found.proc)


def _run_names(home: Path) -> list[str]:
    from flyte._internal.store import RunStore

    store = RunStore(home / "runs.db")
    try:
        return [r.name for r in store.list_runs()]
    finally:
        store.close()


def test_local_runs_in_the_console(
    browser: Any, console: LocalConsole, project: Path, tmp_path: Path
) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    ran = flyte_cli("run", "--local", "wf.py", "fanout", "--n", "12", cwd=project, home=console.home)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    (name,) = _run_names(console.home)

    page = browser.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(console.url + "/")
    assert "/signin" not in page.url  # no sign-in: only this machine can connect
    row = page.locator(f'tr[data-run="{name}"]')
    expect(row.locator(".phase")).to_have_attribute("data-phase", "succeeded")
    assert "console.fanout" in row.inner_text()
    check_widths(page, shots, "local-runs")
    row.locator("a").click()
    page.wait_for_url(f"{console.url}/runs/{name}")
    assert "13 · 12 succeeded · 1 failed" in page.inner_text("#run-counts")
    page.locator("li.group button[data-members]").click()
    expect(page.locator("li.group ul.members li.node")).to_have_count(12)
    check_widths(page, shots, "local-run")
    page.locator("li.group ul.members li.node:has(.phase[data-phase=failed]) a.aname").click()
    expect(page.locator("#error .error-box")).to_contain_text("seven is not allowed")
    assert page.inner_text("#error .error-type") == "ValueError"
    assert "in square" in page.inner_text("#error pre.traceback")
    expect(page.locator("#logs")).to_contain_text("about to fail on seven")

    # Rerun --recover: `flyte rerun` in a process of its own, then the new run's page.
    page.goto(f"{console.url}/runs/{name}")
    page.click("form:has(input[name=recover]) button")
    expect(page.locator(".flash")).to_contain_text(f"recovering {name}", timeout=WAIT_MS)
    expect(page.locator("#run-phase .phase")).to_have_attribute("data-phase", "succeeded", timeout=WAIT_MS)
    assert "recovers" in page.inner_text("#run-head") and page.url.split("/runs/")[1].split("?")[0] != name
    # The root succeeded before, so the whole run is replayed from the store, not executed.
    assert page.inner_text("li.node[data-action=a0] > .row .tag.cache") == "cache recovered"

    # Abort a local run that executes in its own `flyte run --local` process.
    env = dict(os.environ, FLYTE_HOME=str(console.home))
    sleeper = subprocess.Popen(
        [sys.executable, "-m", "flyte.cli.main", "run", "--local", "wf.py", "sleepy", "--seconds", "120"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len(_run_names(console.home)) < 3:
            assert sleeper.poll() is None and time.monotonic() < deadline, "the local run did not start"
            time.sleep(0.1)
        sleepy = _run_names(console.home)[0]
        page.goto(f"{console.url}/runs/{sleepy}")
        expect(page.locator("li.node[data-action=a0] > .row .phase")).to_have_attribute(
            "data-phase", "running", timeout=WAIT_MS
        )
        page.click("form[action$='/abort'] button")
        expect(page.locator("#run-phase .phase")).to_have_attribute("data-phase", "aborted", timeout=WAIT_MS)
        output, _ = sleeper.communicate(timeout=60)
        assert sleeper.returncode != 0 and "aborted" in output.lower(), output
        check_widths(page, shots, "local-aborted")
    finally:
        if sleeper.poll() is None:
            stop(sleeper)


def test_the_local_console_answers_only_this_machine(console: LocalConsole) -> None:
    with httpx.Client(base_url=console.url) as client:
        assert client.get("/runs").status_code == 200
        assert client.get("/runs", headers={"Host": "evil.example"}).status_code == 403  # DNS rebinding
        assert client.post("/runs/any/abort", data={}).status_code == 403  # no CSRF token
        assert client.post("/signin", data={"api_key": "x"}).status_code == 303  # nothing to sign in to
        missing = client.get("/runs/no-such-run")
        assert missing.status_code == 404 and "No run named &#x27;no-such-run&#x27;" in missing.text
    host = console.url.split("//", 1)[1].rsplit(":", 1)[0]
    assert host == "127.0.0.1"


def test_start_ui_on_a_taken_port_says_so(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        ran = flyte_cli("start", "ui", "--port", str(port), cwd=tmp_path, home=tmp_path / "home", timeout=60)
    assert ran.returncode == 1
    assert f"Port {port} on 127.0.0.1 is in use by another program; choose another with --port" in ran.stderr
