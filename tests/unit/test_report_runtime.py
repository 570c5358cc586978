"""report=True tasks: the HTML lands in the action's output location and its path is recorded."""

from __future__ import annotations

from pathlib import Path

import flyte
import flyte.report
from flyte.remote import Run

env = flyte.TaskEnvironment(name="reporting")


@env.task(report=True)
async def with_report(n: int) -> int:
    flyte.report.log(f"<h1>processed {n} rows</h1>")
    flyte.report.get_tab("details").log("<p>all good</p>")
    return n


@env.task
async def without_report(n: int) -> int:
    flyte.report.log("<p>ignored outside a report task</p>")
    return n


def test_report_is_written_and_its_path_recorded():
    run = flyte.run(with_report, 3)
    path = run.action.report_path
    assert path is not None and path.endswith("report.html")
    html = Path(path).read_text()
    assert "processed 3 rows" in html and "all good" in html and "details" in html
    assert Path(path).parent.name == "0"  # attempt 0's output location
    assert Run.get(run.name).action.report_path == path


def test_report_calls_outside_report_tasks_are_harmless():
    run = flyte.run(without_report, 2)
    assert run.outputs() == (2,)
    assert run.action.report_path is None
