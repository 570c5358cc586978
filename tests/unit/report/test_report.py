"""flyte.report: harmless outside report tasks; tabs, flushes and the final page inside one."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

import flyte
import flyte.report
from flyte._context import Frame, reset_frame, set_frame
from flyte.models import ActionID, TaskContext
from flyte.report import REPORT_FILE, Report, finish_report, start_report


def _tctx(output: Path) -> TaskContext:
    return TaskContext(action=ActionID(name="a0", run_name="r1"), output_path=str(output), task_name="env.t")


class _InReportTask:
    """Sets the ambient context the way the runtime does for a ``report=True`` attempt."""

    def __init__(self, output: Path) -> None:
        tctx = _tctx(output)
        self.report = start_report(tctx)
        self.frame = Frame(tctx=tctx.replace(report=self.report), controller=None, action=None)  # type: ignore[arg-type]

    def __enter__(self) -> Report:
        self.token = set_frame(self.frame)
        return self.report

    def __exit__(self, *exc: object) -> None:
        reset_frame(self.token)


def test_outside_a_report_task_calls_are_harmless(tmp_path: Path):
    flyte.report.log("<p>x</p>", do_flush=True)
    flyte.report.replace("<p>y</p>", do_flush=True)
    flyte.report.flush()
    tab = flyte.report.get_tab("Other")
    tab.log("<b>ignored</b>")
    assert flyte.report.current_report().name == "dummy"
    assert not flyte.report.current_report().has_content()  # a fresh dummy each time

    async def main() -> None:
        await flyte.report.log.aio("<p>x</p>", do_flush=True)
        await flyte.report.flush.aio()
        await flyte.report.replace.aio("<p>z</p>")

    asyncio.run(main())
    assert not list(tmp_path.iterdir())


def test_log_tabs_flush_and_finish(tmp_path: Path):
    out = tmp_path / "a0" / "0"
    with _InReportTask(out) as report:
        assert flyte.report.current_report() is report
        flyte.report.log("<h1>Title</h1>")
        flyte.report.log("<p>first</p>", do_flush=True)
        page = out / REPORT_FILE
        assert page.is_file() and "<p>first</p>" in page.read_text()
        charts = flyte.report.get_tab("Charts & <Plots>")
        charts.log("<svg id='c1'></svg>")
        charts.replace("<svg id='c2'></svg>")
        flyte.report.replace("<p>only</p>")
        with pytest.raises(ValueError, match="does not exist"):
            flyte.report.get_tab("nope", create_if_missing=False)
    written = finish_report(report, out)
    assert written == out / REPORT_FILE
    html = written.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert "<p>only</p>" in html and "<h1>Title</h1>" not in html
    assert "<svg id='c2'></svg>" in html and "c1" not in html
    assert "Charts &amp; &lt;Plots&gt;" in html  # tab names are escaped, content is not
    assert html.index(">main<") < html.index("Charts &amp;")


def test_async_forms_and_tab_aio(tmp_path: Path):
    out = tmp_path / "out"

    async def body() -> None:
        await flyte.report.replace.aio("<p>async</p>")
        await flyte.report.get_tab("Tab 2").log.aio("<p>second</p>")
        await flyte.report.flush.aio()

    with _InReportTask(out):
        asyncio.run(body())
    html = (out / REPORT_FILE).read_text()
    assert "<p>async</p>" in html and "<p>second</p>" in html


def test_finish_report_without_content_writes_nothing(tmp_path: Path):
    report = start_report(_tctx(tmp_path))
    assert report.name == "env.t" and list(report.tabs) == ["main"]
    assert finish_report(report, tmp_path) is None
    assert finish_report(None, tmp_path) is None
    report.get_tab("main").log("x")
    assert finish_report(report, None) is None
    assert finish_report(report, tmp_path) == tmp_path / REPORT_FILE


def test_concurrent_logging_from_threads(tmp_path: Path):
    task = _InReportTask(tmp_path)

    def worker(i: int) -> None:
        token = set_frame(task.frame)  # sync tasks run on threads that carry the task's context
        try:
            for j in range(50):
                flyte.report.get_tab(f"t{i % 3}").log(f"<i>{i}-{j}</i>")
        finally:
            reset_frame(token)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(task.report.tabs) == ["main", "t0", "t1", "t2"]
    assert sum(len(t.content) for t in task.report.tabs.values()) == 300
    assert finish_report(task.report, tmp_path) is not None


env = flyte.TaskEnvironment(name="report_tests")


@env.task
async def not_a_report_task() -> bool:
    flyte.report.log("<p>ignored</p>", do_flush=True)
    await flyte.report.flush.aio()
    return flyte.report.current_report().name == "dummy"


def test_report_calls_in_a_task_without_report_true(isolated_home: Path):
    run = flyte.run(not_a_report_task)
    assert run.outputs()[0] is True
    assert not list(isolated_home.rglob(REPORT_FILE))
