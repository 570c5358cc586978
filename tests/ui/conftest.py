"""Fixtures of the console's browser tests: Debian's Chromium driven by Playwright, a devbox
started by the test, and ``flyte start ui`` over a local store.

Chromium comes from Debian (``apt-get install chromium``, done by ``.ci/run``), never from
Playwright's own downloads, which cannot work here; without it these tests are skipped, saying so.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from _services import devbox_process, launch_args

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

WORKFLOW = textwrap.dedent(
    """
    import asyncio
    import os
    import tempfile

    import flyte
    from flyte.io import File

    env = flyte.TaskEnvironment(name="console")


    @env.task
    async def square(x: int) -> int:
        print(f"squaring {x}")
        if x == 7:
            print("about to fail on seven")
            raise ValueError("seven is not allowed")
        return x * x


    @env.task
    async def fanout(n: int = 12) -> int:
        results = await asyncio.gather(*(square(i) for i in range(n)), return_exceptions=True)
        return sum(r for r in results if isinstance(r, int))


    @env.task
    async def make_file(text: str = "hello from a task") -> File:
        path = os.path.join(tempfile.mkdtemp(), "greeting.txt")
        with open(path, "w") as f:
            f.write(text)
        return await File.from_local(path)


    @env.task(report=True)
    async def reported(n: int = 3) -> int:
        import flyte.report

        flyte.report.log(f"<h1>report of {n} rows</h1>")
        return n


    @env.task
    async def sleepy(seconds: float = 120.0) -> str:
        print("going to sleep")
        await asyncio.sleep(seconds)
        return "woke"
    """
)


def flyte_cli(*args: str, cwd: Path, home: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, FLYTE_HOME=str(home))
    return subprocess.run(
        [sys.executable, "-m", "flyte.cli.main", *args], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def submitted_url(output: str) -> str:
    """The run URL in ``flyte run``'s "Run NAME submitted: URL" line."""
    found = re.search(r"submitted: (http://\S+)", output)
    assert found, output
    return found.group(1)


def stop(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# -- the browser ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Any]:
    """Playwright's driver, for one test module: its sync API runs an event loop in this thread
    while it lives, which must be gone before other tests call ``asyncio.run``."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the test extra's playwright is not installed"
    )
    if not CHROMIUM.exists():
        pytest.skip(
            f"Chromium is not installed at {CHROMIUM} (.ci/run installs it: apt-get install chromium)"
        )
    with sync_api.sync_playwright() as driver:
        yield driver


@pytest.fixture
def browser(playwright_driver: Any, tmp_path: Path) -> Iterator[Any]:
    """A headless Chromium with a fresh profile, at 1280x800; pages fail the test on a script error."""
    context = playwright_driver.chromium.launch_persistent_context(
        str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
        viewport=DESKTOP,
    )  # fmt: skip
    errors: list[str] = []
    context.on("weberror", lambda e: errors.append(str(e.error)))
    try:
        yield context
    finally:
        context.close()
    assert not errors, f"script errors in the console: {errors}"


def no_horizontal_overflow(page: Any) -> None:
    """The page fits its viewport's width: nothing needs sideways scrolling."""
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page is {widths[0]}px wide in a {widths[1]}px viewport"


def check_widths(page: Any, shots: Path, name: str) -> None:
    """Screenshots at 1280x800 and at a phone's width, asserting the phone one fits."""
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    no_horizontal_overflow(page)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(shots / f"{name}-phone.png"), full_page=True)
    no_horizontal_overflow(page)
    page.set_viewport_size(DESKTOP)


# -- servers -------------------------------------------------------------------------------------------


@dataclass
class Devbox:
    endpoint: str
    api_key: str
    home: Path
    project: Path
    client_home: Path

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.endpoint, headers={"Authorization": f"Bearer {self.api_key}"})


@pytest.fixture(scope="module")
def devbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devbox]:
    """A devbox (control plane and two workers) on a free loopback port, with a project configured
    to run on it (``flyte create config --devbox``)."""
    home = tmp_path_factory.mktemp("console-devbox")
    with devbox_process(home, launch_args(home)) as (_, info):
        project = home / "project"
        project.mkdir()
        (project / "wf.py").write_text(WORKFLOW)
        made = flyte_cli("create", "config", "--devbox", cwd=project, home=home)
        assert made.returncode == 0, made.stderr
        yield Devbox(info["endpoint"], info["api_key"], home, project, home / "client-home")


@dataclass
class LocalConsole:
    url: str
    home: Path
    proc: subprocess.Popen[str]


def start_local_console(home: Path, port: int = 0) -> LocalConsole:
    """``flyte start ui --port PORT`` over the store of ``home``; its URL is read from its output."""
    env = dict(os.environ, FLYTE_HOME=str(home), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "flyte.cli.main", "start", "ui", "--port", str(port)], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until it listens (or exits)
    found = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
    if not found:
        stop(proc)
        raise AssertionError(f"flyte start ui did not start: {line}{proc.stdout.read()}")
    return LocalConsole(found.group(1), home, proc)
