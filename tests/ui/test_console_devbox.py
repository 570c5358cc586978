"""The console of a devbox, in Chromium: from the URL ``flyte run`` prints to the failing action's
error and logs, the tree of a fan-out, abort and rerun --recover, at desktop and phone widths."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Devbox, check_widths, flyte_cli, submitted_url

pytestmark = pytest.mark.integration
expect = pytest.importorskip(
    "playwright.sync_api", reason="the test extra's playwright is not installed"
).expect

WAIT_MS = 60_000


def run_on_devbox(devbox: Devbox, *args: str) -> str:
    ran = flyte_cli("run", "wf.py", *args, cwd=devbox.project, home=devbox.client_home)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return submitted_url(ran.stdout)


def sign_in(page: Any, devbox: Devbox, url: str) -> None:
    page.goto(url)
    assert "/signin" in page.url, "the console showed a run without signing in"
    page.fill("#api-key", "fk_not-a-key")
    page.click("button[type=submit]")
    assert "not valid" in page.inner_text(".flash")
    page.fill("#api-key", devbox.api_key)
    page.click("button[type=submit]")
    page.wait_for_url(url)


def test_a_fan_out_with_a_failing_child_abort_and_rerun(browser: Any, devbox: Devbox, tmp_path: Path) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    url = run_on_devbox(devbox, "fanout", "--n", "12")
    name = url.rsplit("/", 1)[1]
    assert url == f"{devbox.endpoint}/runs/{name}"
    page = browser.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(url)
    page.screenshot(path=str(shots / "signin.png"))
    sign_in(page, devbox, url)

    # The run page: live until the run ends (it succeeds: the fan-out tolerates its failed child).
    page.wait_for_selector("#run-phase .phase[data-phase=succeeded]", timeout=WAIT_MS)
    assert "13 · 12 succeeded · 1 failed" in page.inner_text("#run-counts")
    assert "o0" in page.inner_text(".io") and str(sum(i * i for i in range(12)) - 49) in page.inner_text(
        ".io"
    )
    group = page.locator("li.group").first
    assert "console.square" in group.inner_text() and "× 12" in group.inner_text()
    assert "12/12 done" in group.inner_text() and "1 failed" in group.inner_text()
    assert page.locator(".gantt-row").count() >= 3  # axis, a0, the group
    group.locator("button[data-members]").click()
    expect(page.locator("li.group ul.members li.node")).to_have_count(12)
    check_widths(page, shots, "run")

    # Only the failed member, then its page: error type and message, and its logs.
    group.locator("select.member-phase").select_option("failed")
    expect(page.locator("li.group ul.members li.node")).to_have_count(1)
    failed = group.locator("ul.members li.node").first
    assert "seven is not allowed" in failed.inner_text()
    failed.locator("a.aname").click()
    page.wait_for_selector("#error")
    assert page.inner_text("#error .error-type") == "ValueError"
    assert "seven is not allowed" in page.inner_text("#error .error-box")
    traceback = page.inner_text("#error pre.traceback")  # the task's own frames, not the engine's
    assert "in square" in traceback and "/flyte/" not in traceback
    expect(page.locator("#logs")).to_contain_text("about to fail on seven")
    assert "squaring 7" in page.inner_text("#logs")
    assert "x" in page.inner_text(".io") and "7" in page.inner_text(".io")
    assert page.locator("#action-head .phase[data-phase=failed]").count() == 1
    check_widths(page, shots, "action")

    # Rerun --recover from the run page: a new run that replays the eleven that succeeded.
    page.goto(url)
    page.click("form:has(input[name=recover]) button")
    page.wait_for_url(re.compile(r"/runs/(?!" + re.escape(name) + r")[^/?]+\?msg="), timeout=WAIT_MS)
    assert f"recovering {name}" in page.inner_text(".flash")
    page.wait_for_selector("#run-phase .phase[data-phase=succeeded]", timeout=WAIT_MS)
    assert "recovers" in page.inner_text("#run-head") and name in page.inner_text("#run-head")

    # A File output is a link that downloads it.
    file_url = run_on_devbox(devbox, "make_file")
    page.goto(file_url)
    page.wait_for_selector("#run-phase .phase[data-phase=succeeded]", timeout=WAIT_MS)
    link = page.locator(".io .ref a").first
    assert link.inner_text() == "greeting.txt"
    with page.expect_download() as download:
        link.click()
    assert Path(download.value.path()).read_text() == "hello from a task"
    outside = devbox.project / "wf.py"  # a file of the host, outside the server's storage
    r = page.request.get(f"{file_url}/actions/a0/blob?path={outside}")
    assert r.status == 404

    # Abort a run that is still running, from its page; the runs list in another tab follows it.
    sleepy_url = run_on_devbox(devbox, "sleepy", "--seconds", "120")
    sleepy = sleepy_url.rsplit("/", 1)[1]
    runs_tab = browser.new_page()
    runs_tab.goto(f"{devbox.endpoint}/runs")
    page.goto(sleepy_url)
    expect(page.locator("li.node[data-action=a0] > .row .phase")).to_have_attribute(
        "data-phase", "running", timeout=WAIT_MS
    )
    # Its root's page tails the logs while it runs.
    page.locator("li.node[data-action=a0] a.aname").click()
    expect(page.locator("#logs")).to_contain_text("going to sleep", timeout=WAIT_MS)
    assert page.locator("#action-head .phase").get_attribute("data-phase") == "running"
    assert page.inner_text("#logs-state") == "following…"
    page.goto(sleepy_url)
    page.click("form[action$='/abort'] button")
    page.wait_for_selector("#run-phase .phase[data-phase=aborted]", timeout=WAIT_MS)
    assert page.locator("form[action$='/abort']").count() == 0
    expect(runs_tab.locator(f'tr[data-run="{sleepy}"] .phase')).to_have_attribute(
        "data-phase", "aborted", timeout=WAIT_MS
    )
    runs_tab.close()
    check_widths(page, shots, "aborted")

    # The runs page: all of them, newest first; a search by name keeps one.
    page.goto(f"{devbox.endpoint}/runs")
    names = page.locator("table#runs td.c-name").all_inner_texts()
    assert names[0] == sleepy and name in names
    assert page.locator(f'tr[data-run="{name}"] .phase[data-phase=succeeded]').count() == 1
    check_widths(page, shots, "runs")
    page.fill("input[name=q]", name[3:9])
    page.click("form.filters button")
    assert page.locator("table#runs td.c-name").all_inner_texts() == [name]
    page.goto(f"{devbox.endpoint}/runs?phase=aborted")
    assert page.locator("table#runs td.c-name").all_inner_texts() == [sleepy]
    for shot in ("signin", "run", "run-phone", "action", "action-phone", "aborted", "runs", "runs-phone"):
        assert (shots / f"{shot}.png").stat().st_size > 1000


def test_nothing_is_readable_without_signing_in(devbox: Devbox) -> None:
    with devbox.api() as api:
        name = api.get("/api/v1/runs", params={"limit": 1}).json()
    target = f"/runs/{name[0]['name']}" if name else "/runs/some-run"
    plain = httpx.Client(base_url=devbox.endpoint, follow_redirects=False)
    with plain:
        for path in ("/", "/runs", target, f"{target}/actions/a0", f"{target}/actions/a0/report"):
            r = plain.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/signin?next="), path
        assert plain.get("/ui/api/runs/states").status_code == 401
        assert plain.get(f"/ui/api{target}/live").status_code == 401
        assert plain.get("/ui/static/console.js").status_code == 200  # the script is not a secret
        with httpx.Client(
            base_url=devbox.endpoint, cookies={"flyte_console": "abc.9999999999.0000"}
        ) as forged:
            assert forged.get("/runs").status_code == 303

        refused = plain.post("/signin", data={"api_key": "fk_wrong", "next": "/runs"})
        assert refused.status_code == 401 and "flyte_console" not in refused.cookies
        signed = plain.post("/signin", data={"api_key": devbox.api_key, "next": "//evil.example/x"})
        assert signed.status_code == 303 and signed.headers["location"] == "/runs"
        cookie_header = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie_header and "SameSite=strict" in cookie_header.replace("Strict", "strict")
        assert devbox.api_key not in cookie_header
        page = plain.get("/runs")
        assert page.status_code == 200 and "Content-Security-Policy" in page.headers
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        assert plain.post(f"{target}/rerun", data={}).status_code == 403
        assert plain.post(f"{target}/rerun", data={"csrf": "0" * 40}).status_code == 403
        foreign = plain.post(
            f"{target}/abort", data={"csrf": csrf}, headers={"Origin": "http://evil.example"}
        )
        assert foreign.status_code == 403
        signed_out = plain.post("/signout", data={"csrf": csrf})
        assert signed_out.status_code == 303
        assert plain.get("/runs").status_code == 303


def test_a_devbox_report_is_embedded_in_the_action_page(devbox: Devbox) -> None:
    url = run_on_devbox(devbox, "reported", "--n", "5")
    name = url.rsplit("/", 1)[1]
    with devbox.api() as api:
        done = api.get(f"/api/v1/runs/{name}/actions/a0/wait", params={"timeout": 60}, timeout=90).json()
        assert done["phase"] == "succeeded", done
    with httpx.Client(base_url=devbox.endpoint, follow_redirects=False) as client:
        assert client.post("/signin", data={"api_key": devbox.api_key, "next": "/runs"}).status_code == 303
        page = client.get(f"{url}/actions/a0")
        assert page.status_code == 200 and 'iframe class="report"' in page.text
        report = client.get(f"{url}/actions/a0/report")
        assert report.status_code == 200 and "report of 5 rows" in report.text
        assert report.headers["content-security-policy"] == "sandbox allow-scripts"
