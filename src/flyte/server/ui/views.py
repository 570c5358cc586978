"""The console's pages and the fragments console.js fetches: Runs, Run, Action, sign-in.

Each function takes what a :class:`~flyte.server.ui.reader.ConsoleReader` returned and gives HTML
(the body of a page, or a fragment that is inserted into one); the tree rows are rendered here
both for the first page load and for what console.js loads when a group is opened, so they look
the same either way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from flyte._internal.store import ActionRecord, LogRecord, PhaseEvent, RunRecord, TraceRecord
from flyte.models import ActionPhase
from flyte.server.ui.html import (
    action_url,
    attr,
    button_form,
    duration,
    error_text,
    esc,
    first_line,
    phase_badge,
    q,
    render_values,
    run_url,
    timestamp,
    with_query,
)
from flyte.server.ui.reader import SINCE_SECONDS, Attempt, ChildGroup, RunFilter, RunsPage, decode_value

PHASES = [p.value for p in ActionPhase]
PHASE_ORDER = ("succeeded", "failed", "timed_out", "aborted", "running", "initializing",
               "waiting_for_resources", "paused", "queued")  # fmt: skip
MAX_GROUPS = 500
"""Child groups shown under one action (more would make the page slow; the rest are counted)."""


def _elapsed(start: float | None, end: float | None, now: float) -> float | None:
    return None if start is None else (end or now) - start


# -- runs ------------------------------------------------------------------------------------------


def runs_body(page: RunsPage, flt: RunFilter, tasks: list[str], cursor: str | None) -> str:
    now = time.time()
    phase_options = "".join(
        f'<option value="{esc(p)}"{" selected" if flt.phases and flt.phases[0].value == p else ""}>{esc(p)}</option>'
        for p in PHASES
    )
    since_options = "".join(
        f'<option value="{esc(k)}"{" selected" if flt.since == k else ""}>last {esc(k)}</option>'
        for k in SINCE_SECONDS
    )
    task_options = "".join(f'<option value="{esc(t)}"></option>' for t in tasks)
    form = f"""
<form class="filters" method="get" action="/runs" role="search">
  <input type="search" name="q" placeholder="Search by name" value="{esc(flt.search or "")}" aria-label="Search runs by name">
  <select name="phase" aria-label="Phase"><option value="">any phase</option>{phase_options}</select>
  <input name="task" list="tasks" placeholder="Task" value="{esc(flt.task or "")}" aria-label="Task">
  <datalist id="tasks">{task_options}</datalist>
  <select name="since" aria-label="Created"><option value="">any time</option>{since_options}</select>
  <button type="submit" class="btn">Filter</button>
</form>"""
    rows = "".join(_run_row(r, now) for r in page.runs)
    filters = {"q": flt.search, "phase": flt.phases[0].value if flt.phases else None, "task": flt.task,
               "since": flt.since}  # fmt: skip
    pager = []
    if cursor:
        pager.append(f'<a class="btn" href="{esc(with_query("/runs", **filters))}">Newest</a>')
    if page.next_cursor:
        more = with_query("/runs", **filters, cursor=page.next_cursor)
        pager.append(f'<a class="btn" rel="next" href="{esc(more)}">Older runs</a>')
    top = page.runs[0].created_at if page.runs and not cursor else None
    empty = '<p class="muted empty">No runs match.</p>' if not page.runs else ""
    return f"""
<h1>Runs</h1>
{form}
<div class="banner" id="new-runs" hidden><a href="">New runs: refresh</a></div>
<table class="runs" id="runs" {attr(data_newest=None if top is None else repr(top), data_filters=with_query("", **filters))}>
<thead><tr><th>Name</th><th class="c-task">Task</th><th>Phase</th><th class="c-start">Started</th><th class="c-dur">Duration</th><th class="c-err">Error</th></tr></thead>
<tbody>{rows}</tbody>
</table>
{empty}
<nav class="pager">{"".join(pager)}</nav>"""


def _run_row(r: RunRecord, now: float) -> str:
    err = first_line(error_text(r.error_type, r.error_message), 120)
    live = None if r.ended_at is not None else "1"
    return (
        f'<tr {attr(data_run=r.name, data_live=live)}><td class="c-name"><a href="{esc(run_url(r.name))}">{esc(r.name)}</a></td>'
        f'<td class="c-task">{esc(r.task_name)}</td><td class="c-phase">{phase_badge(r.phase)}</td>'
        f'<td class="c-start">{timestamp(r.created_at)}</td>'
        f'<td class="c-dur">{duration(_elapsed(r.created_at, r.ended_at, now))}</td>'
        f'<td class="c-err error-text">{esc(err)}</td></tr>'
    )


def run_state(r: RunRecord) -> dict[str, Any]:
    """What console.js updates in a runs table row or a run page header."""
    now = time.time()
    return {
        "phase": r.phase.value, "ended": r.ended_at is not None,
        "phase_html": phase_badge(r.phase), "duration": duration(_elapsed(r.created_at, r.ended_at, now)),
        "error": first_line(error_text(r.error_type, r.error_message), 120),
    }  # fmt: skip


# -- the tree --------------------------------------------------------------------------------------


def counts_text(counts: dict[ActionPhase, int]) -> str:
    parts = [
        f"{counts[ActionPhase(p)]} {p.replace('_', ' ')}" for p in PHASE_ORDER if counts.get(ActionPhase(p))
    ]
    return " · ".join(parts)


def progress_bar(counts: dict[ActionPhase, int]) -> str:
    """A bar split by phase; its title says the counts."""
    total = sum(counts.values()) or 1
    parts = "".join(
        f'<span class="seg seg-{p}" style="width:{100 * counts[ActionPhase(p)] / total:.3f}%"></span>'
        for p in PHASE_ORDER
        if counts.get(ActionPhase(p))
    )
    return f'<span class="progress" title="{esc(counts_text(counts))}">{parts}</span>'


def action_row(a: ActionRecord, run: str, has_children: bool, now: float) -> str:
    toggle = (
        f'<button type="button" class="toggle" aria-expanded="false" aria-label="Show children of {esc(a.name)}" data-children="{esc(a.name)}"></button>'
        if has_children
        else '<span class="toggle-space"></span>'
    )
    extras = []
    if a.attempts > 1:
        extras.append(f'<span class="tag">{a.attempts} attempts</span>')
    if a.cache_status:
        extras.append(f'<span class="tag cache">cache {esc(a.cache_status)}</span>')
    if a.group:
        extras.append(f'<span class="tag">group {esc(a.group)}</span>')
    err = first_line(error_text(a.error_type, a.error_message), 100)
    error = f'<span class="error-text">{esc(err)}</span>' if err else ""
    children = '<ul class="children" hidden></ul>' if has_children else ""
    return (
        f'<li class="node" {attr(data_action=a.name, data_live=None if a.phase.is_terminal else "1")}><div class="row">{toggle}'
        f'<a class="aname" href="{esc(action_url(run, a.name))}">{esc(a.name)}</a>'
        f'<span class="task">{esc(a.task_name)}</span>{phase_badge(a.phase)}'
        f'<span class="dur">{duration(_elapsed(a.started_at, a.ended_at, now))}</span>{"".join(extras)}{error}</div>'
        f"{children}</li>"
    )


def group_row(g: ChildGroup, run: str, parents: set[str], now: float) -> str:
    if g.single is not None:
        return action_row(g.single, run, g.single.name in parents, now)
    title = esc(g.task_name) + (f' <span class="tag">group {esc(g.group)}</span>' if g.group else "")
    filter_options = "".join(
        f'<option value="{p}">{p.replace("_", " ")} ({g.counts[ActionPhase(p)]})</option>'
        for p in PHASE_ORDER
        if g.counts.get(ActionPhase(p))
    )
    return (
        f'<li class="group" {attr(data_parent=g.parent, data_key=g.key, data_live=None if g.done == g.size else "1")}>'
        f'<div class="row"><button type="button" class="toggle" aria-expanded="false" aria-label="Show the {g.size} actions of {esc(g.task_name)}" data-members></button>'
        f'<span class="gname">{title}</span><span class="count">× {g.size}</span>'
        f'<span class="gstate">{group_state(g)}</span>'
        f'<select class="member-phase" aria-label="Show only"><option value="">all</option>{filter_options}</select></div>'
        f'<ul class="members" hidden></ul><button type="button" class="btn more" hidden>Load more</button></li>'
    )


def group_state(g: ChildGroup) -> str:
    return (
        f'{progress_bar(g.counts)}<span class="counts">{g.done}/{g.size} done'
        f"{' · ' if g.counts else ''}{esc(counts_text(g.counts))}</span>"
    )


def groups_html(groups: list[ChildGroup], run: str, parents: set[str]) -> str:
    now = time.time()
    shown = "".join(group_row(g, run, parents, now) for g in groups[:MAX_GROUPS])
    if len(groups) > MAX_GROUPS:
        rest = sum(g.size for g in groups[MAX_GROUPS:])
        shown += f'<li class="muted">… {len(groups) - MAX_GROUPS} more groups ({rest} actions) not shown</li>'
    return shown


def members_html(actions: Iterable[ActionRecord], run: str, parents: set[str]) -> str:
    now = time.time()
    return "".join(action_row(a, run, a.name in parents, now) for a in actions)


def action_state(a: ActionRecord) -> dict[str, Any]:
    now = time.time()
    return {
        "phase": a.phase.value, "ended": a.phase.is_terminal, "phase_html": phase_badge(a.phase),
        "duration": duration(_elapsed(a.started_at, a.ended_at, now)),
    }  # fmt: skip


# -- run -------------------------------------------------------------------------------------------


def root_html(run: str, root: ActionRecord | None, groups: list[ChildGroup], parents: set[str]) -> str:
    """The tree's first level: the root action, its child groups open under it."""
    if root is None:
        return '<li class="muted">No actions recorded yet.</li>'
    row = action_row(root, run, False, time.time()).replace('<span class="toggle-space"></span>', "", 1)
    return row.replace(
        "</div></li>", f'</div><ul class="children">{groups_html(groups, run, parents)}</ul></li>', 1
    )


def run_body(
    run: RunRecord,
    root: ActionRecord | None,
    groups: list[ChildGroup],
    parents: set[str],
    counts: dict[ActionPhase, int],
    root_io: tuple[dict[str, Any] | None, dict[str, Any] | None],
    csrf: str,
    blob_link: Callable[[str], str],
    message: str | None,
) -> str:
    now = time.time()
    buttons = []
    if run.ended_at is None:
        buttons.append(button_form(f"{run_url(run.name)}/abort", "Abort", csrf,
                                   f"Abort run {run.name}? Its unfinished actions end as aborted.", kind="danger"))  # fmt: skip
    buttons.append(button_form(f"{run_url(run.name)}/rerun", "Rerun", csrf,
                               f"Start a new run of {run.task_name} with the same inputs?"))  # fmt: skip
    buttons.append(button_form(f"{run_url(run.name)}/rerun", "Rerun --recover", csrf,
                               "Start a new run that reuses what this run already finished?", {"recover": "1"}))  # fmt: skip
    err = error_text(run.error_type, run.error_message)
    error = f'<pre class="error-box">{esc(err)}</pre>' if err else ""
    note = f'<p class="flash" role="status">{esc(message)}</p>' if message else ""
    total = sum(counts.values())
    root_row = root_html(run.name, root, groups, parents)
    source = f'<p class="muted">recovers <a href="{esc(run_url(run.source_run))}">{esc(run.source_run)}</a></p>' if run.source_run else ""  # fmt: skip
    inputs, outputs = root_io
    labels = (
        "<dt>Labels</dt><dd>"
        + " ".join(f'<span class="tag">{esc(k)}={esc(v)}</span>' for k, v in run.labels.items())
        + "</dd>"
        if run.labels
        else ""
    )
    if run.abort_reason:
        source += f'<p class="muted">abort requested: {esc(run.abort_reason)}</p>'
    return f"""
<nav class="crumbs"><a href="/runs">Runs</a> / <span>{esc(run.name)}</span></nav>
{note}
<section class="head" id="run-head" {attr(data_run=run.name, data_live=None if run.ended_at is not None else "1")}>
  <h1>{esc(run.name)} <span id="run-phase">{phase_badge(run.phase)}</span></h1>
  <dl class="facts">
    <dt>Task</dt><dd>{esc(run.task_name)}</dd>
    <dt>Started</dt><dd>{timestamp(run.created_at)}</dd>
    <dt>Duration</dt><dd id="run-duration">{duration(_elapsed(run.created_at, run.ended_at, now))}</dd>
    <dt>Actions</dt><dd id="run-counts">{total} · {esc(counts_text(counts))}</dd>
    {labels}
  </dl>
  {source}
  <div class="buttons">{"".join(buttons)}</div>
  {error}
  <p class="banner" id="run-ended" hidden>The run has ended: <a href="{esc(run_url(run.name))}">reload</a> for its outputs and timeline.</p>
</section>
<section class="panel"><h2>Actions</h2>
<ul class="tree" id="tree" data-run="{esc(run.name)}">{root_row}</ul>
</section>
<section class="panel"><h2>Timeline</h2>{timeline(run, root, groups, now)}</section>
<section class="panel io"><div><h2>Inputs</h2>{render_values(inputs, blob_link)}</div>
<div><h2>Outputs</h2>{render_values(outputs, blob_link, "none yet" if run.ended_at is None else "none")}</div></section>"""


def timeline(run: RunRecord, root: ActionRecord | None, groups: list[ChildGroup], now: float) -> str:
    """A Gantt chart of the root action and each group of its children (a bar per group: from its
    first start to its last end, split by phase)."""
    t0 = run.created_at
    t1 = max(run.ended_at or now, t0 + 1e-3)
    span = t1 - t0

    def bar(label: str, href: str | None, start: float | None, end: float | None, fill: str, tip: str) -> str:
        if start is None:
            left, width = 0.0, 0.0
        else:
            left = max(0.0, (start - t0) / span * 100)
            width = max(0.4, ((end or now) - start) / span * 100)
            width = min(width, 100 - left) if left < 100 else 0.4
        name = f'<a href="{esc(href)}">{esc(label)}</a>' if href else esc(label)
        return (
            f'<div class="gantt-row"><div class="gantt-label" title="{esc(label)}">{name}</div>'
            f'<div class="gantt-track"><span class="gantt-bar" title="{esc(tip)}" style="left:{left:.3f}%;width:{width:.3f}%">{fill}</span></div></div>'
        )

    rows = []
    if root is not None:
        rows.append(bar(f"a0 {root.task_name}", action_url(run.name, "a0"), root.started_at, root.ended_at,
                        f'<span class="seg seg-{root.phase.value}" style="width:100%"></span>',
                        f"{root.phase.value} {duration(_elapsed(root.started_at, root.ended_at, now))}"))  # fmt: skip
    for g in groups[:200]:
        if g.single is not None:
            a = g.single
            rows.append(bar(f"{a.name} {a.task_name}", action_url(run.name, a.name), a.started_at, a.ended_at,
                            f'<span class="seg seg-{a.phase.value}" style="width:100%"></span>',
                            f"{a.phase.value} {duration(_elapsed(a.started_at, a.ended_at, now))}"))  # fmt: skip
        else:
            fill = progress_bar(g.counts).replace('class="progress"', 'class="progress fill"', 1)
            end = g.ended_at if g.done == g.size else None
            rows.append(
                bar(f"{g.task_name} × {g.size}", None, g.started_at, end, fill, counts_text(g.counts))
            )
    ticks = "".join(
        f'<span class="tick" style="left:{p}%">{duration(span * p / 100)}</span>'
        for p in (0, 25, 50, 75, 100)
    )
    return f'<div class="gantt"><div class="gantt-row axis"><div class="gantt-label"></div><div class="gantt-track">{ticks}</div></div>{"".join(rows)}</div>'


# -- action ----------------------------------------------------------------------------------------


def action_body(
    run: RunRecord,
    a: ActionRecord,
    attempts: list[Attempt],
    io: tuple[dict[str, Any] | None, dict[str, Any] | None],
    logs: tuple[list[tuple[int, LogRecord]], int],
    traces: list[TraceRecord],
    children: str,
    blob_link: Callable[[str], str],
    report_url: str | None,
) -> str:
    now = time.time()
    err = error_text(a.error_type, a.error_message)
    error = ""
    if err:
        kind = esc(a.error_type or "error")
        # The store records the user frames of the error (``flyte._internal.tracebacks``); an older
        # record may carry a traceback in its message instead.
        message, _, trace = (a.error_message or "").partition("\nTraceback")
        trace = a.traceback or (f"Traceback{trace}" if trace else "")
        tb = f'<h3>Traceback</h3><pre class="traceback">{esc(trace)}</pre>' if trace else ""
        error = (
            f'<section class="panel error" id="error"><h2>Error</h2><p><span class="error-type">{kind}</span></p>'
            f'<pre class="error-box">{esc(error_text(a.error_type, message))}</pre>{tb}</section>'
        )
    attempt_rows = "".join(
        f"<tr><td>{t.number}</td><td>{phase_badge(t.phase)}</td><td>{timestamp(t.started_at)}</td>"
        f"<td>{timestamp(t.ended_at)}</td><td>{duration(_elapsed(t.started_at, t.ended_at, now))}</td></tr>"
        for t in attempts
    )
    history = list(a.history)
    history_rows = "".join(
        f"<tr><td>{phase_badge(e.phase)}</td><td>{e.attempt or '-'}</td><td>{timestamp(e.at)}</td>"
        f"<td>{duration(_time_in_phase(history, i, now))}</td></tr>"
        for i, e in enumerate(history)
    )
    trace_rows = "".join(
        f"<tr><td>{t.seq}</td><td>{esc(t.name)}</td><td><pre class='json small'>{esc(_short(decode_value(bytes(t.inputs) if t.inputs is not None else None)))}</pre></td>"
        f"<td><pre class='json small'>{esc(_short(decode_value(bytes(t.outputs)) if t.outputs is not None else None))}</pre></td>"
        f"<td class='error-text'>{esc(t.error or '')}</td><td>{duration(t.ended_at - t.started_at if t.ended_at and t.started_at else None)}</td></tr>"
        for t in traces
    )
    traces_html = (
        f'<table class="grid"><thead><tr><th>#</th><th>Call</th><th>Inputs</th><th>Outputs</th><th>Error</th><th>Duration</th></tr></thead><tbody>{trace_rows}</tbody></table>'
        if traces
        else '<p class="muted">no trace calls</p>'
    )
    lines, total = logs
    last = lines[-1][0] if lines else 0
    log_text = "".join(_log_line(rec) for _id, rec in lines)
    shown = f"the last {len(lines)} of {total} lines" if total > len(lines) else f"{total} lines"
    cut = f'<p class="muted small">Showing {shown}.</p>' if total > len(lines) else ""
    report = (
        f'<section class="panel"><h2>Report</h2><iframe class="report" sandbox="allow-scripts" src="{esc(report_url)}" title="Report of {esc(a.name)}"></iframe>'
        f'<p><a href="{esc(report_url)}" target="_blank" rel="noopener">Open the report</a></p></section>'
        if report_url
        else ""
    )
    parent = f'<dt>Parent</dt><dd><a href="{esc(action_url(run.name, a.parent))}">{esc(a.parent)}</a></dd>' if a.parent else ""  # fmt: skip
    cache = a.cache_status or "not cached"
    inputs, outputs = io
    children_panel = (
        f'<section class="panel"><h2>Children</h2><ul class="tree" data-run="{esc(run.name)}">{children}</ul></section>'
        if children
        else ""
    )
    return f"""
<nav class="crumbs"><a href="/runs">Runs</a> / <a href="{esc(run_url(run.name))}">{esc(run.name)}</a> / <span>{esc(a.name)}</span></nav>
<section class="head" id="action-head" {attr(data_run=run.name, data_action=a.name, data_live=None if a.phase.is_terminal else "1")}>
  <h1>{esc(a.name)} <span id="action-phase">{phase_badge(a.phase)}</span></h1>
  <dl class="facts">
    <dt>Task</dt><dd>{esc(a.task_name)}</dd>
    {parent}
    <dt>Group</dt><dd>{esc(a.group or "-")}</dd>
    <dt>Attempts</dt><dd>{a.attempts}</dd>
    <dt>Cache</dt><dd id="cache-status">{esc(cache)}</dd>
    <dt>Started</dt><dd>{timestamp(a.started_at)}</dd>
    <dt>Ended</dt><dd>{timestamp(a.ended_at)}</dd>
    <dt>Duration</dt><dd id="action-duration">{duration(_elapsed(a.started_at, a.ended_at, now))}</dd>
  </dl>
</section>
{error}
<section class="panel"><h2>Logs</h2>
<pre class="logs" id="logs" data-after="{last}" {attr(data_src=f"/ui/api/runs/{q(run.name)}/actions/{q(a.name)}/logs")}>{log_text}</pre>
{cut}<p class="muted small" id="logs-state">{"following…" if not a.phase.is_terminal else shown}</p>
</section>
{report}
<section class="panel io"><div><h2>Inputs</h2>{render_values(inputs, blob_link)}</div>
<div><h2>Outputs</h2>{render_values(outputs, blob_link, "none yet" if not a.phase.is_terminal else "none")}</div></section>
{children_panel}
<section class="panel"><h2>Attempts</h2><table class="grid"><thead><tr><th>#</th><th>Phase</th><th>Started</th><th>Ended</th><th>Duration</th></tr></thead><tbody>{attempt_rows}</tbody></table></section>
<section class="panel"><h2>Phase history</h2><table class="grid"><thead><tr><th>Phase</th><th>Attempt</th><th>At</th><th>For</th></tr></thead><tbody>{history_rows}</tbody></table></section>
<section class="panel"><h2>Trace calls</h2>{traces_html}</section>"""


def _time_in_phase(history: list[PhaseEvent], i: int, now: float) -> float | None:
    """How long the action stayed in the phase entered by ``history[i]`` (None for a terminal one)."""
    if i + 1 < len(history):
        return history[i + 1].at - history[i].at
    return None if history[i].phase.is_terminal else now - history[i].at


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) < 400 else text[:399] + "…"


def _log_line(rec: LogRecord) -> str:
    cls = "err" if rec.stream == "stderr" else "out"
    return f'<span class="{cls}">{esc(rec.line)}\n</span>'


def logs_payload(logs: list[tuple[int, LogRecord]], after: int) -> dict[str, Any]:
    return {"html": "".join(_log_line(r) for _i, r in logs), "after": logs[-1][0] if logs else after}


# -- sign-in ---------------------------------------------------------------------------------------


def signin_body(next_url: str, error: str | None) -> str:
    problem = f'<p class="flash error" role="alert">{esc(error)}</p>' if error else ""
    return f"""
<section class="signin">
<h1>Sign in</h1>
<p>This control plane needs an API key (printed by <code>flyte start devbox</code>, or made with
<code>flyte create api-key</code>).</p>
{problem}
<form method="post" action="/signin">
  <input type="hidden" name="next" value="{esc(next_url)}">
  <label for="api-key">API key</label>
  <input id="api-key" name="api_key" type="password" autocomplete="current-password" required autofocus>
  <button type="submit" class="btn primary">Sign in</button>
</form>
</section>"""


def stored_elsewhere_body(path: str) -> str:
    return f"<h1>Stored elsewhere</h1><p>This value lives at <code>{esc(path)}</code>, which this console cannot read.</p>"


def dir_listing_body(run: str, action: str, path: str, name: str, entries: list[tuple[str, int]]) -> str:
    """The files of a Dir (relative path, size in bytes)."""
    items = "".join(
        f"<li><code>{esc(rel)}</code> <span class='muted'>{size} bytes</span></li>" for rel, size in entries
    )
    return (
        f'<nav class="crumbs"><a href="{esc(run_url(run))}">{esc(run)}</a> / <a href="{esc(action_url(run, action))}">{esc(action)}</a></nav>'
        f"<h1>{esc(name)}</h1><p class='muted'>{esc(path)}</p><ul>{items or '<li>empty</li>'}</ul>"
    )


def not_found_body(message: str) -> str:
    return f'<h1>Not found</h1><p class="flash error">{esc(message)}</p><p><a href="/runs">All runs</a></p>'
