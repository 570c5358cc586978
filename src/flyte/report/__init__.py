"""HTML reports for ``@env.task(report=True)`` tasks.

Inside such a task, ``flyte.report.log(html)`` appends to the main tab,
``flyte.report.get_tab("Charts").log(html)`` to another tab, ``flyte.report.replace(html)``
replaces the main tab and ``flyte.report.flush()`` saves the page now; the runtime saves it
again when the attempt ends. Each function also has an awaitable ``.aio`` form. Outside a
report task the calls do nothing visible.
"""

from __future__ import annotations

from flyte.report._report import (
    REPORT_FILE,
    Report,
    Tab,
    current_report,
    finish_report,
    flush,
    get_tab,
    log,
    replace,
    start_report,
)

__all__ = [
    "REPORT_FILE",
    "Report",
    "Tab",
    "current_report",
    "finish_report",
    "flush",
    "get_tab",
    "log",
    "replace",
    "start_report",
]
