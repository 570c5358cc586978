"""Reports: HTML that a ``report=True`` task builds while it runs, saved as one page with tabs.

The running task's :class:`Report` lives on its TaskContext (``flyte.ctx().report``). Outside
of such a task the module functions act on a throw-away report, so calling them is harmless.
Functions and tab methods are sync; each also has an awaitable ``.aio`` twin.
"""

from __future__ import annotations

import functools
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from typing_extensions import ParamSpec

from flyte.report._template import render_page
from flyte.storage._default import is_remote, locate

if TYPE_CHECKING:
    from flyte.models import TaskContext

P = ParamSpec("P")
R = TypeVar("R")

MAIN_TAB = "main"
REPORT_FILE = "report.html"


class _Dual(Generic[P, R]):
    """A function callable directly and awaitable through ``.aio`` (for quick, local work)."""

    def __init__(self, fn: Callable[P, R]) -> None:
        self._fn = fn
        functools.update_wrapper(self, fn)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._fn(*args, **kwargs)

    async def aio(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """The same call, awaitable."""
        return self._fn(*args, **kwargs)

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        return self if obj is None else _Dual(functools.partial(self._fn, obj))


class Tab:
    """One tab of a report: a list of HTML fragments shown one after the other."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.content: list[str] = []

    @_Dual
    def log(self, content: str) -> None:
        """Append an HTML fragment (not a whole document) to the tab."""
        self.content.append(content)

    @_Dual
    def replace(self, content: str) -> None:
        """Make ``content`` the tab's only HTML fragment."""
        self.content = [content]

    def get_html(self) -> str:
        """The tab's HTML: its fragments joined by newlines."""
        return "\n".join(list(self.content))

    def __repr__(self) -> str:
        return f"Tab({self.name!r}, {len(self.content)} fragment(s))"


class Report:
    """The HTML report of one task attempt: named tabs, the first being ``"main"``."""

    def __init__(self, name: str, output_dir: str | os.PathLike[str] | None = None) -> None:
        self.name = name
        self.output_dir = os.fspath(output_dir) if output_dir else None
        self.tabs: dict[str, Tab] = {MAIN_TAB: Tab(MAIN_TAB)}
        self.flushed = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Report({self.name!r}, tabs={list(self.tabs)})"

    def has_content(self) -> bool:
        """Whether any tab holds HTML."""
        return any(tab.content for tab in list(self.tabs.values()))

    def get_tab(self, name: str, create_if_missing: bool = True) -> Tab:
        """The tab called ``name``; created if missing unless ``create_if_missing`` is False
        (then a missing tab raises ValueError)."""
        with self._lock:
            tab = self.tabs.get(name)
            if tab is None:
                if not create_if_missing:
                    raise ValueError(f"Tab {name} does not exist.")
                tab = self.tabs[name] = Tab(name)
            return tab

    def get_final_report(self) -> str:
        """The whole report as one HTML document."""
        with self._lock:
            tabs = [(name, tab.get_html()) for name, tab in self.tabs.items()]
        return render_page(self.name, tabs)

    def save(self, location: str | os.PathLike[str]) -> str:
        """Render the report to a local path or an object-store URL (``s3://...``); returns it."""
        if is_remote(location):
            bucket, key = locate(os.fspath(location))
            bucket.put_bytes(self.get_final_report().encode("utf-8"), key, name=REPORT_FILE)
            self.flushed = True
            return os.fspath(location)
        return str(self.write(location))

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Render the report to ``path`` (replaced atomically, so readers never see half a page)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_text(self.get_final_report(), encoding="utf-8")
        os.replace(tmp, target)
        self.flushed = True
        return target


def _active() -> tuple[Report, str] | None:
    """The running task's report and the directory it is saved in, if the task has one."""
    from flyte._context import ctx

    tctx = ctx()
    report = getattr(tctx, "report", None) if tctx is not None else None
    if not isinstance(report, Report):
        return None
    out = report.output_dir or (tctx.output_path if tctx is not None else "")
    return report, out


def current_report() -> Report:
    """The running task's report; outside a ``report=True`` task a new, unsaved dummy report."""
    active = _active()
    return active[0] if active is not None else Report("dummy")


def get_tab(name: str, /, create_if_missing: bool = True) -> Tab:
    """A tab of the current report, created if missing (see :meth:`Report.get_tab`)."""
    return current_report().get_tab(name, create_if_missing=create_if_missing)


def _flush() -> None:
    active = _active()
    if active is None or not active[1]:
        return
    report, out = active
    report.save(_join(out, REPORT_FILE))


def _log(content: str, do_flush: bool = False) -> None:
    get_tab(MAIN_TAB).log(content)
    if do_flush:
        _flush()


def _replace(content: str, do_flush: bool = False) -> None:
    get_tab(MAIN_TAB).replace(content)
    if do_flush:
        _flush()


flush = _Dual(_flush)
flush.__doc__ = """Save the current report now (to ``<output_path>/report.html``); a no-op outside a
``report=True`` task. ``await flush.aio()`` in async code."""

log = _Dual(_log)
log.__doc__ = """Append an HTML fragment to the main tab, saving the report when ``do_flush``.
``await log.aio(...)`` in async code."""

replace = _Dual(_replace)
replace.__doc__ = """Replace the main tab's content with an HTML fragment, saving the report when
``do_flush``. ``await replace.aio(...)`` in async code."""


def _join(base: str | os.PathLike[str], name: str) -> str:
    text = os.fspath(base)
    return f"{text.rstrip('/')}/{name}" if is_remote(text) else str(Path(text) / name)


def start_report(tctx: TaskContext) -> Report:
    """A fresh report for a ``report=True`` task attempt; the runtime puts it on the context.

    When the run keeps its data in object storage (an ``s3://`` raw data path) the report is
    saved there too, under ``reports/<run>/<action>/<attempt>/``, so that it lives with the data.
    """
    out: str | None = tctx.output_path or None
    raw = tctx.raw_data_path.path if tctx.raw_data_path is not None else ""
    if raw and is_remote(raw):
        action = tctx.action
        out = f"{raw.rstrip('/')}/reports/{action.run_name}/{action.name}/{tctx.attempt_number}"
    return Report(tctx.task_name or tctx.action.name, output_dir=out)


def finish_report(report: Report | None, output_dir: str | os.PathLike[str] | None) -> Path | str | None:
    """Save ``report`` as ``<output_dir>/report.html`` when the attempt ends (in object storage
    instead when :func:`start_report` chose a location there).

    Returns the file written (a URL for object storage), or None when there is nothing to save
    (no report, no directory, or a report that was never written to nor flushed).
    """
    if report is None or not (report.has_content() or report.flushed):
        return None
    if report.output_dir and is_remote(report.output_dir):
        return report.save(_join(report.output_dir, REPORT_FILE))
    if not output_dir:
        return None
    return report.write(Path(output_dir) / REPORT_FILE)
