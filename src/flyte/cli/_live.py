"""A live view of a run: its action tree, phases and fan-out progress, refreshed in place.

``LiveView(controller_getter)`` wraps the execution of a run. In a terminal it shows a rich
``Live`` display that a refresh thread redraws ~8 times a second from a tree of nodes: the
controller's in-memory ``ActionNode`` objects for a local run, or ``RecordNode`` objects built
from a ``RunSource``'s records for a run followed on a control plane (``flyte.cli._follow``). It
only reads their attributes (``TreeNode``) and never changes them. Elsewhere
(pipes, files, CI) it prints one summary line when the run ends, such as
``12 actions: 11 succeeded, 1 failed``.

Big fan-outs stay readable: siblings of the same task (and group) beyond ``collapse_at`` are
shown as one line with a progress bar (finished/total) and counts per phase, plus the first few
failures, instead of one line each.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, TextIO

from rich.console import Console, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from flyte.cli._format import PHASE_STYLES, format_duration, summarize
from flyte.models import ActionID, ActionPhase

ControllerGetter = Callable[[], Any]
"""Returns the running controller (anything with a ``root: ActionNode | None``), a root node
itself (``TreeNode``), or None while the run has not started."""


class TreeNode(Protocol):
    """What the renderer reads of an action (``ActionNode`` and ``RecordNode`` have it)."""

    @property
    def id(self) -> ActionID: ...
    @property
    def name(self) -> str: ...
    @property
    def task_name(self) -> str: ...
    @property
    def group(self) -> str | None: ...
    @property
    def phase(self) -> ActionPhase: ...
    @property
    def attempts(self) -> int: ...
    @property
    def cache_status(self) -> str | None: ...
    @property
    def error(self) -> BaseException | None: ...
    @property
    def abort_reason(self) -> str | None: ...
    @property
    def duration(self) -> float | None: ...
    @property
    def children(self) -> Sequence[TreeNode]: ...
    def walk(self) -> Iterable[TreeNode]: ...


REFRESH_PER_SECOND = 8.0
COLLAPSE_AT = 4
"""Siblings of one task and group are collapsed into a progress line from this many on."""
MAX_ENTRIES_PER_PARENT = 25
"""Lines (single actions or collapsed groups) listed under one parent before the rest is summarized."""
MAX_FAILURES_SHOWN = 3
"""Failed members of a collapsed group listed under its line."""
MAX_DEPTH = 12
BAR_WIDTH = 30

_FAILED_PHASES = (ActionPhase.FAILED, ActionPhase.TIMED_OUT)
_PHASE_ORDER = list(ActionPhase)


@dataclass(frozen=True)
class RenderOptions:
    """Limits that keep the tree small whatever the size of the run."""

    collapse_at: int = COLLAPSE_AT
    max_entries: int = MAX_ENTRIES_PER_PARENT
    max_failures: int = MAX_FAILURES_SHOWN
    max_depth: int = MAX_DEPTH


# -- counting ----------------------------------------------------------------------------------------


def phase_counts(nodes: Iterable[TreeNode]) -> Counter[ActionPhase]:
    """How many of ``nodes`` are in each phase."""
    return Counter(node.phase for node in nodes)


def format_counts(counts: Counter[ActionPhase]) -> str:
    """``3 running, 12 succeeded, 1 failed``: non-zero phases in lifecycle order."""
    return ", ".join(f"{counts[p]} {p.value}" for p in _PHASE_ORDER if counts.get(p))


def summary_line(root: TreeNode) -> str:
    """``12 actions: 11 succeeded, 1 failed`` for the whole tree under ``root``."""
    counts = phase_counts(root.walk())
    total = sum(counts.values())
    return f"{total} action{'s' if total != 1 else ''}: {format_counts(counts)}"


# -- rendering ------------------------------------------------------------------------------------


def _phase(phase: ActionPhase) -> Text:
    return Text(phase.value, style=PHASE_STYLES.get(phase, ""))


def node_label(node: TreeNode) -> Text:
    """One action: name, task, phase, duration, attempts, cache status and error."""
    label = Text()
    label.append(node.name, style="bold")
    label.append(f"  {node.task_name}  ")
    label.append_text(_phase(node.phase))
    duration = node.duration
    if duration is not None:
        label.append(f"  {format_duration(duration)}", style="dim")
    if node.attempts > 1:
        label.append(f"  attempt {node.attempts}", style="yellow")
    if node.cache_status in ("hit", "recovered"):
        label.append(f"  [{node.cache_status}]", style="bold cyan")
    error = node.error
    if error is not None and node.phase in _FAILED_PHASES:
        label.append("  " + summarize(f"{type(error).__name__}: {error}"), style="red")
    elif node.phase is ActionPhase.ABORTED and node.abort_reason:
        label.append("  " + summarize(node.abort_reason), style="magenta")
    return label


def group_line(task_name: str, group: str | None, members: list[TreeNode]) -> Table:
    """One line for many sibling actions of a task: a progress bar and counts per phase."""
    counts = phase_counts(members)
    total = len(members)
    done = sum(n for phase, n in counts.items() if phase.is_terminal)
    failed = sum(counts.get(p, 0) for p in _FAILED_PHASES)
    bar = ProgressBar(
        total=total,
        completed=done,
        width=BAR_WIDTH,
        complete_style="red" if failed else "yellow",
        finished_style="red" if failed else "green",
    )
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column()
    title = Text(f"{task_name} ×{total}", style="bold")
    if group:
        title.append(f" ({group})", style="blue")
    grid.add_row(title, bar, Text(f"{done}/{total}"), Text(format_counts(counts), style="dim"))
    return grid


def _add_children(branch: Tree, node: TreeNode, depth: int, opts: RenderOptions) -> None:
    children = list(node.children)  # a snapshot: the run's loop may append meanwhile
    if not children:
        return
    if depth >= opts.max_depth:
        branch.add(Text(f"… {len(children)} child actions not shown", style="dim"))
        return
    buckets: dict[tuple[str, str | None], list[TreeNode]] = {}
    for child in children:
        buckets.setdefault((child.task_name, child.group), []).append(child)
    shown = 0
    hidden: list[TreeNode] = []
    for (task_name, group), members in buckets.items():
        if shown >= opts.max_entries:
            hidden.extend(members)
            continue
        if len(members) >= opts.collapse_at:
            line = branch.add(group_line(task_name, group, members))
            shown += 1
            failed = [m for m in members if m.phase in _FAILED_PHASES]
            for member in failed[: opts.max_failures]:
                line.add(node_label(member))
            if len(failed) > opts.max_failures:
                line.add(Text(f"… {len(failed) - opts.max_failures} more failed", style="red"))
            continue
        for member in members:
            if shown >= opts.max_entries:
                hidden.append(member)
                continue
            _add_node(branch, member, depth + 1, opts)
            shown += 1
    if hidden:
        branch.add(Text(f"… {len(hidden)} more actions: {format_counts(phase_counts(hidden))}", style="dim"))


def _add_node(parent: Tree, node: TreeNode, depth: int, opts: RenderOptions) -> None:
    branch = parent.add(node_label(node))
    _add_children(branch, node, depth, opts)


def render_tree(root: TreeNode, opts: RenderOptions | None = None, run_name: str | None = None) -> Tree:
    """The run under ``root`` as a rich Tree, big sibling sets collapsed (see the module doc)."""
    opts = opts or RenderOptions()
    header = Text(f"Run {run_name or root.id.run_name}", style="bold")
    header.append(f"  {summary_line(root)}", style="dim")
    tree = Tree(header, guide_style="dim")
    _add_node(tree, root, 0, opts)
    return tree


# -- the live view ----------------------------------------------------------------------------------


def _root_of(found: Any) -> TreeNode | None:
    if found is None or hasattr(found, "walk"):  # a root node itself
        return found
    return getattr(found, "root", None)  # a controller


class _HeldStream:
    """Stands in for stdout or stderr while the live view is up.

    Writes are only kept; the refresh thread prints them above the view in one batch per
    refresh. (Rich's own redirection re-renders the whole view for every line printed, on the
    printing thread: with thousands of printing actions that slows a run down tenfold.)
    """

    def __init__(self, real: TextIO):
        self._real = real
        self.rich_proxied_file = real
        """Where a rich Console on this stream really writes (rich looks this attribute up)."""
        self._parts: list[str] = []
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._parts.append(text)
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return self._real.isatty()

    def take(self, complete_lines_only: bool = True) -> str:
        """What was written since the last call (up to the last newline, unless told otherwise)."""
        with self._lock:
            text = "".join(self._parts)
            rest = ""
            if complete_lines_only:
                cut = text.rfind("\n") + 1
                text, rest = text[:cut], text[cut:]
            self._parts = [rest] if rest else []
        return text

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class LiveView:
    """Context manager showing the live action tree of the run ``controller_getter`` leads to.

    ``controller_getter`` is called from the refresh thread and must be cheap; it returns the
    controller (or None before it exists). With ``live=None`` the live display is used when the
    console is an interactive terminal; otherwise a summary line is printed on exit.

    While the view is up, what the process prints to stdout (and to stderr when that is the same
    terminal) is held and printed above the view at each refresh.
    """

    def __init__(
        self,
        controller_getter: ControllerGetter,
        *,
        console: Console | None = None,
        live: bool | None = None,
        refresh_per_second: float = REFRESH_PER_SECOND,
        options: RenderOptions | None = None,
    ):
        self._getter = controller_getter
        self.console = console or Console()
        self.interactive = (
            live if live is not None else self.console.is_terminal and not self.console.is_dumb_terminal
        )
        self._interval = 1.0 / refresh_per_second
        self._options = options or RenderOptions()
        self._live: Live | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._held: list[tuple[str, _HeldStream]] = []
        self._last: RenderableType = Text("Starting the run…", style="dim")

    def root(self) -> TreeNode | None:
        """The root action of the run, once the controller has one."""
        try:
            return _root_of(self._getter())
        except Exception:
            return None

    def render(self) -> RenderableType:
        """The current view (the last good one if the tree changed under the reader)."""
        root = self.root()
        if root is None:
            return self._last
        try:
            self._last = render_tree(root, self._options)
        except Exception:  # never let a racing read kill the refresh thread
            pass
        return self._last

    # -- the terminal display --------------------------------------------------------------------

    def _hold_streams(self) -> None:
        for name in ("stdout", "stderr"):
            real = getattr(sys, name)
            if name == "stderr" and not _isatty(real):
                continue  # stderr goes elsewhere (a file, a pipe): leave it alone
            held = _HeldStream(real)
            setattr(sys, name, held)
            self._held.append((name, held))

    def _release_streams(self) -> None:
        for name, held in self._held:
            if getattr(sys, name) is held:
                setattr(sys, name, held.rich_proxied_file)

    def _tick(self, final: bool = False) -> None:
        """Print what was held, then redraw the tree."""
        assert self._live is not None
        for _, held in self._held:
            text = held.take(complete_lines_only=not final)
            if text:
                self.console.print(Text.from_ansi(text.removesuffix("\n")), soft_wrap=True, highlight=False)
        self._live.update(self.render(), refresh=True)

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._tick()
            except Exception:  # keep refreshing; a bad frame is skipped
                pass

    def __enter__(self) -> LiveView:
        if self.interactive:
            self._live = Live(
                self._last,
                console=self.console,
                auto_refresh=False,
                transient=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()
            self._hold_streams()
            self._stop.clear()
            self._thread = threading.Thread(target=self._refresh_loop, name="flyte-live-view", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._stop.set()
            if self._thread is not None:
                self._thread.join()
                self._thread = None
            self._release_streams()
            try:
                self._tick(final=True)  # the final state stays on screen
            finally:
                self._held = []
                live, self._live = self._live, None
                live.stop()
            return
        root = self.root()
        if root is not None:
            self.console.print(summary_line(root), soft_wrap=True, highlight=False)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:
        return False
