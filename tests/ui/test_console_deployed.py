"""The console's Tasks and Triggers pages on a devbox: what ``flyte deploy`` registered, its
versions and settings, and triggers switched on and off from the page (with the CSRF checks)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Devbox, check_widths, flyte_cli

pytestmark = pytest.mark.integration

DEPLOYED = textwrap.dedent(
    """
    import flyte

    env = flyte.TaskEnvironment(name="shop", resources=flyte.Resources(cpu=1, memory="512Mi"))


    @env.task(triggers=flyte.Trigger("nightly", flyte.Cron("0 2 * * *", timezone="Europe/Paris")), retries=2)
    async def restock(shelves: int = 4, note: str = "nightly") -> int:
        \"\"\"Counts what the shelves need.\"\"\"
        return shelves * 2
    """
)


def _sign_in(client: httpx.Client, devbox: Devbox) -> None:
    assert client.post("/signin", data={"api_key": devbox.api_key, "next": "/tasks"}).status_code == 303


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def test_tasks_and_triggers_pages_show_what_was_deployed(
    devbox: Devbox, browser: Any, tmp_path: Path
) -> None:
    (devbox.project / "shop.py").write_text(DEPLOYED)
    deployed = flyte_cli("deploy", "shop.py", "shop", cwd=devbox.project, home=devbox.client_home)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    with httpx.Client(base_url=devbox.endpoint, follow_redirects=False) as client:
        _sign_in(client, devbox)
        assert httpx.get(f"{devbox.endpoint}/tasks", follow_redirects=False).status_code == 303  # signed out
        tasks = client.get("/tasks")
        assert tasks.status_code == 200 and 'href="/tasks/shop.restock"' in tasks.text
        assert '<a href="/tasks">Tasks</a>' in tasks.text and '<a href="/triggers">Triggers</a>' in tasks.text
        detail = client.get("/tasks/shop.restock")
        assert detail.status_code == 200
        for shown in (
            "Counts what the shelves need.",
            "shelves",
            "nightly",
            "cpu=1,",
            "memory=512Mi",
            "Retries",
        ):
            assert shown in detail.text, shown
        assert client.get("/tasks/shop.nope").status_code == 404

        triggers = client.get("/triggers")
        assert (
            "cron &#x27;0 2 * * *&#x27; (Europe/Paris)" in triggers.text
            or "cron '0 2 * * *'" in triggers.text
        )
        row = re.search(r'<tr id="shop.restock/nightly" data-active="(\d)"', triggers.text)
        assert row, triggers.text[:2000]
        was_active = row.group(1) == "1"
        verb = "deactivate" if was_active else "activate"
        refused = client.post(f"/triggers/shop.restock/nightly/{verb}", data={"csrf": "0" * 40})
        assert refused.status_code == 403
        switched = client.post(f"/triggers/shop.restock/nightly/{verb}", data={"csrf": _csrf(triggers.text)})
        assert switched.status_code == 303
        after = client.get(switched.headers["location"])
        state = "inactive" if was_active else "active"
        assert f"Trigger nightly of shop.restock is now {state}" in after.text
        assert f'data-active="{"0" if was_active else "1"}"' in after.text
    listed = flyte_cli("get", "trigger", "shop.restock", cwd=devbox.project, home=devbox.client_home)
    assert listed.returncode == 0 and "nightly" in listed.stdout

    page = browser.new_page()
    page.goto(f"{devbox.endpoint}/signin?next=/tasks")
    page.fill("#api-key", devbox.api_key)
    page.click("button[type=submit]")
    page.wait_for_selector("table#tasks")
    page.click("a[href='/tasks/shop.restock']")
    page.wait_for_selector("#versions")
    check_widths(page, tmp_path, "task")
    page.goto(f"{devbox.endpoint}/triggers")
    page.wait_for_selector("table#triggers")
    check_widths(page, tmp_path, "triggers")
    assert (tmp_path / "task.png").stat().st_size > 1000
