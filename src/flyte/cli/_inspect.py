"""``flyte get runs|run|action|io|logs|report``: inspect recorded runs.

Every command reads through one ``RunSource`` (``flyte.remote._source``), the interface
``flyte.remote.Run`` reads too: the run store under ``$FLYTE_HOME``, or the configured control
plane. The printing code is the same for both, so a run prints the same wherever it ran. Nothing
here writes, except that the local store marks runs whose process died as failed first, so that a
killed run does not show as running forever. Importing this module registers the commands on
the ``get`` group of ``flyte.cli._groups``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from rich.text import Text
from rich.tree import Tree

from flyte._internal.run_config import flyte_home
from flyte._internal.store import ActionRecord, RunRecord, RunStore, open_store
from flyte.cli._errors import fail
from flyte.cli._format import (
    PHASE_STYLES,
    action_elapsed,
    action_to_dict,
    clock_time,
    display_value,
    echo_json,
    error_text,
    format_duration,
    iso_time,
    local_time,
    output_format_option,
    plain_table,
    print_fields,
    print_table,
    rich_console,
    run_elapsed,
    run_to_dict,
    stdout_is_terminal,
    summarize,
)
from flyte.cli._groups import get
from flyte.cli._params import parse_pairs
from flyte.models import ActionPhase
from flyte.remote._local_source import StoreSource
from flyte.remote._source import RunSource
from flyte.types import TypeEngine

__all__ = ["get"]

_PHASES = [p.value for p in ActionPhase]


# -- store access ------------------------------------------------------------------------------------


def store_option(fn: Any) -> Any:
    """``--local`` / ``--remote``: which store a ``get`` command reads (default: the control plane
    when one is configured, else this machine's)."""

    def choose(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value is not None:
            ctx.find_root().meta["flyte.store"] = value

    fn = click.option(
        "--remote",
        "store",
        flag_value="remote",
        default=None,
        expose_value=False,
        callback=choose,
        help="Read the configured control plane.",
    )(fn)
    return click.option(
        "--local", "store", flag_value="local", default=None, expose_value=False, callback=choose,
        help="Read this machine's runs, also when a control plane is configured.",
    )(fn)  # fmt: skip


def open_local_store() -> RunStore:
    """The run store of ``$FLYTE_HOME`` itself (for what only this machine has: its task cache)."""
    try:
        return open_store(flyte_home())
    except Exception as e:  # a corrupt or unreadable database
        fail(f"cannot open the run store in {flyte_home()}: {e}", e)


def open_source() -> RunSource:
    """Where a command reads runs: the configured control plane (unless ``--local`` was given),
    else the run store of ``$FLYTE_HOME``."""
    from flyte.cli._remote import remote_configured

    ctx = click.get_current_context(silent=True)
    chosen = ctx.find_root().meta.get("flyte.store") if ctx else None
    if chosen == "remote" and not remote_configured():
        fail("--remote: no control plane is configured (flyte create config, or --endpoint URL)")
    if chosen != "local" and remote_configured():
        from flyte.remote._records import HttpSource
        from flyte.remote._remote_run import client_from_config

        return HttpSource(client_from_config())
    source = StoreSource(open_local_store(), flyte_home())
    try:
        source.store.reap_dead_runs()
    except Exception as e:
        fail(f"cannot read the run store in {flyte_home()}: {e}", e)
    return source


def require_run(source: RunSource, name: str) -> RunRecord:
    """The run named ``name``; exits 1 with ``Error: No run named '...'`` when there is none."""
    record = source.get_run(name)
    if record is None:
        fail(f"No run named '{name}' in {source.label}")
    return record


def require_action(source: RunSource, run: str, name: str) -> ActionRecord:
    """One action of a run; exits 1 when the run or the action does not exist."""
    require_run(source, run)
    record = source.get_action(run, name)
    if record is None:
        fail(f"Run '{run}' has no action named '{name}'")
    return record


def _decode(data: bytes | None) -> Any:
    if data is None:
        return None
    try:
        return TypeEngine.to_jsonable(data)
    except Exception as e:  # show what can be shown instead of failing the whole command
        return f"<cannot decode: {e}>"


# -- the action tree ---------------------------------------------------------------------------------


def walk_tree(actions: list[ActionRecord]) -> Iterator[tuple[ActionRecord, int]]:
    """Each action with its depth, depth-first, children in creation order.

    Actions whose parent is missing from the list are shown at the top level.
    """
    names = {a.name for a in actions}
    children: dict[str | None, list[ActionRecord]] = {}
    for action in actions:
        parent = action.parent if action.parent in names else None
        children.setdefault(parent, []).append(action)
    stack = [(a, 0) for a in reversed(children.get(None, []))]
    while stack:
        action, depth = stack.pop()
        yield action, depth
        stack.extend((c, depth + 1) for c in reversed(children.get(action.name, [])))


def _cache_label(status: str | None) -> str:
    return status or "-"


def _action_row(action: ActionRecord, depth: int, now: float) -> list[str]:
    return [
        "  " * depth + action.name,
        action.task_name,
        action.phase.value,
        format_duration(action_elapsed(action, now)),
        str(action.attempts),
        _cache_label(action.cache_status),
        action.group or "-",
        summarize(error_text(action.error_type, action.error_message)),
    ]


_TREE_HEADERS = ("ACTION", "TASK", "PHASE", "DURATION", "ATTEMPTS", "CACHE", "GROUP", "ERROR")


def _rich_label(action: ActionRecord, now: float) -> Text:
    label = Text()
    label.append(action.name, style="bold")
    label.append(f"  {action.task_name}  ")
    label.append(action.phase.value, style=PHASE_STYLES.get(action.phase, ""))
    label.append(f"  {format_duration(action_elapsed(action, now))}", style="dim")
    if action.attempts > 1:
        label.append(f"  attempts={action.attempts}", style="yellow")
    if action.cache_status in ("hit", "recovered"):
        label.append(f"  [{action.cache_status}]", style="bold cyan")
    elif action.cache_status:
        label.append(f"  [cache {action.cache_status}]", style="dim")
    if action.group:
        label.append(f"  group={action.group}", style="blue")
    error = summarize(error_text(action.error_type, action.error_message))
    if error:
        label.append(f"  {error}", style="red")
    return label


def _run_title(run: RunRecord, now: float) -> str:
    text = f"Run {run.name}  {run.task_name}  {run.phase.value}  {format_duration(run_elapsed(run, now))}"
    error = summarize(error_text(run.error_type, run.error_message))
    return f"{text}  {error}" if error else text


def _print_tree(run: RunRecord, actions: list[ActionRecord]) -> None:
    now = time.time()
    if not stdout_is_terminal():
        click.echo(_run_title(run, now))
        click.echo(plain_table(_TREE_HEADERS, [_action_row(a, d, now) for a, d in walk_tree(actions)]))
        return
    title = Text(f"Run {run.name}  ", style="bold")
    title.append(f"{run.task_name}  ")
    title.append(run.phase.value, style=PHASE_STYLES.get(run.phase, ""))
    title.append(f"  {format_duration(run_elapsed(run, now))}", style="dim")
    tree = Tree(title)
    branches: dict[str, Tree] = {}
    for action, _depth in walk_tree(actions):
        parent = branches.get(action.parent or "", tree)
        branches[action.name] = parent.add(_rich_label(action, now))
    rich_console().print(tree)


# -- commands ---------------------------------------------------------------------------------------


def _list_runs(
    phases: tuple[str, ...],
    task: str | None,
    limit: int,
    output_format: str,
    labels: dict[str, str] | None = None,
) -> None:
    source = open_source()
    wanted = [ActionPhase(p) for p in phases]
    records = source.list_runs(phases=wanted, task_name=task, limit=limit, labels=labels or {})
    if output_format == "json":
        echo_json([run_to_dict(r) for r in records])
        return
    if not records:
        click.echo(f"No runs recorded in {source.label}.")
        return
    click.echo(f"Runs from {source.label}:", err=True)
    now = time.time()
    rows = [
        [
            r.name,
            r.task_name,
            r.phase.value,
            local_time(r.created_at),
            format_duration(run_elapsed(r, now)),
            summarize(error_text(r.error_type, r.error_message)),
        ]
        for r in records
    ]
    styles = [["bold", "", PHASE_STYLES.get(r.phase, ""), "dim", "", "red"] for r in records]
    print_table(("NAME", "TASK", "PHASE", "STARTED", "DURATION", "ERROR"), rows, styles=styles)


_PHASE_OPTION = click.option(
    "--phase",
    "--in-phase",
    "phases",
    multiple=True,
    type=click.Choice(_PHASES, case_sensitive=False),
    help="Only runs in this phase (repeat for several).",
)
_TASK_OPTION = click.option("--task", "--task-name", "task", default=None, help="Only runs of this task.")
_LIMIT_OPTION = click.option(
    "--limit", type=click.IntRange(min=1), default=100, show_default=True, help="At most N runs."
)


@get.command("runs")
@store_option
@_PHASE_OPTION
@_TASK_OPTION
@_LIMIT_OPTION
@click.option("-p", "--project", default=None, help="Only runs of this project.")
@click.option("-d", "--domain", default=None, help="Only runs of this domain.")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="Only runs with this label.")
@output_format_option
def get_runs(
    phases: tuple[str, ...],
    task: str | None,
    limit: int,
    project: str | None,
    domain: str | None,
    labels: tuple[str, ...],
    output_format: str,
) -> None:
    """List recorded runs, newest first.

    \b
    Examples:
      flyte get runs
      flyte get runs --phase failed --phase aborted
      flyte get runs --task main --limit 5 -of json
      flyte get runs -p ml -d development --label team=blue
    """
    wanted = parse_pairs(labels, "--label")
    wanted.update({k: v for k, v in (("project", project), ("domain", domain)) if v})
    _list_runs(phases, task, limit, output_format, wanted)


@get.command("run")
@store_option
@click.argument("name", required=False)
@_PHASE_OPTION
@_TASK_OPTION
@_LIMIT_OPTION
@output_format_option
def get_run(
    name: str | None, phases: tuple[str, ...], task: str | None, limit: int, output_format: str
) -> None:
    """Show run NAME as a tree of its actions (without NAME: list runs, like ``get runs``).

    Each action shows its task, phase, duration, attempts, cache status (hit / recovered),
    group and error.

    \b
    Examples:
      flyte get run NAME
      flyte get run NAME -of json
      flyte get run --phase failed
    """
    if name is None:
        _list_runs(phases, task, limit, output_format)
        return
    source = open_source()
    run = require_run(source, name)
    actions = source.list_actions(name)
    if output_format == "json":
        tree = [action_to_dict(a, depth=d) for a, d in walk_tree(actions)]
        echo_json({"run": run_to_dict(run), "actions": tree})
        return
    _print_tree(run, actions)


def left_behind(source: RunSource, action: ActionRecord) -> dict[str, Any]:
    """What an action left besides its outputs: its report, its ``@flyte.trace`` calls (with
    inputs and outputs) and its checkpoints (checkpoints of local runs only)."""
    traces = []
    for t in source.get_traces(action.run_name, action.name):
        traces.append(
            {
                "name": t.name,
                "started_at": iso_time(t.started_at),
                "duration_s": t.ended_at - t.started_at,
                "inputs": _decode(t.inputs),
                "outputs": _decode(t.outputs) if t.error is None else None,
                "error": t.error,
            }
        )
    return {"report": action.report_path, "traces": traces, "checkpoints": source.checkpoints(action)}


def _print_left_behind(extra: dict[str, Any]) -> None:
    if extra["traces"]:
        rows = [
            [t["name"], format_duration(t["duration_s"]), summarize(json.dumps(t["inputs"], default=repr)),
             summarize(t["error"] or json.dumps(t["outputs"], default=repr))]
            for t in extra["traces"]
        ]  # fmt: skip
        click.echo("")
        print_table(("TRACE", "DURATION", "INPUTS", "OUTPUT / ERROR"), rows, title="Trace calls:")
    if extra["checkpoints"]:
        click.echo("")
        click.echo("Checkpoints:")
        for path in extra["checkpoints"]:
            click.echo(f"  {path}")


def _print_action(source: RunSource, action: ActionRecord) -> None:
    now = time.time()
    children = [a for a in source.list_actions(action.run_name) if a.parent == action.name]
    error = error_text(action.error_type, action.error_message)
    fields = [
        ("Run", action.run_name),
        ("Action", action.name),
        ("Parent", action.parent or "-"),
        ("Task", action.task_name),
        ("Group", action.group or "-"),
        ("Phase", action.phase.value),
        ("Attempts", str(action.attempts)),
        ("Cache", _cache_label(action.cache_status)),
        ("Created", local_time(action.created_at)),
        ("Started", local_time(action.started_at)),
        ("Ended", local_time(action.ended_at)),
        ("Duration", format_duration(action_elapsed(action, now))),
        ("Children", str(len(children))),
        ("Report", action.report_path or "-"),
        ("Error", error or "-"),
    ]
    print_fields(fields, styles={"Phase": PHASE_STYLES.get(action.phase, ""), "Error": "red"})
    click.echo("")
    rows = [
        [clock_time(e.at), "+" + format_duration(e.at - action.created_at), e.phase.value, str(e.attempt)]
        for e in action.history
    ]
    styles = [["dim", "dim", PHASE_STYLES.get(e.phase, ""), ""] for e in action.history]
    print_table(("TIME", "ELAPSED", "PHASE", "ATTEMPT"), rows, title="Phase history:", styles=styles)
    if action.traceback:  # the task's own frames (the engine's are left out)
        click.echo("")
        click.echo("Traceback of the error:")
        click.echo("  " + action.traceback.rstrip().replace("\n", "\n  "))
    _print_left_behind(left_behind(source, action))


@get.command("action")
@store_option
@click.argument("run_name")
@click.argument("action_name", required=False)
@output_format_option
def get_action(run_name: str, action_name: str | None, output_format: str) -> None:
    """Show one action of RUN_NAME in detail, with its phase history (without ACTION_NAME: list them).

    \b
    Examples:
      flyte get action NAME
      flyte get action NAME a1 -of yaml
    """
    source = open_source()
    if action_name is None:
        require_run(source, run_name)
        actions = source.list_actions(run_name)
        if output_format == "json":
            echo_json([action_to_dict(a) for a in actions])
        else:
            now = time.time()
            print_table(_TREE_HEADERS, [_action_row(a, 0, now) for a in actions])
        return
    action = require_action(source, run_name, action_name)
    if output_format == "json":
        data = action_to_dict(action)
        data["history"] = [
            {"phase": e.phase.value, "at": iso_time(e.at), "attempt": e.attempt} for e in action.history
        ]
        data["children"] = [a.name for a in source.list_actions(run_name) if a.parent == action_name]
        data["traceback"] = action.traceback
        data.update(left_behind(source, action))
        echo_json(data)
        return
    _print_action(source, action)


def _print_values(title: str, values: Any, missing: str) -> None:
    if stdout_is_terminal():
        rich_console().print(Text(title, style="bold"))
    else:
        click.echo(title)
    if values is None:
        click.echo(f"  ({missing})")
    elif isinstance(values, dict) and not values:
        click.echo("  (none)")
    elif isinstance(values, dict):
        for key, value in values.items():
            text = display_value(value)
            click.echo(f"  {key}: " + text.replace("\n", "\n    "))
    else:
        click.echo(f"  {display_value(values)}")


@get.command("io")
@store_option
@click.argument("run_name")
@click.argument("action_name", default="a0")
@click.option("-i", "--inputs-only", is_flag=True, help="Show only the inputs.")
@click.option("-o", "--outputs-only", is_flag=True, help="Show only the outputs.")
@output_format_option
def get_io(
    run_name: str, action_name: str, inputs_only: bool, outputs_only: bool, output_format: str
) -> None:
    """Show the inputs and outputs of an action (default: the root action a0 of RUN_NAME).

    \b
    Examples:
      flyte get io NAME
      flyte get io NAME a1 --outputs-only -of json
    """
    if inputs_only and outputs_only:
        raise click.UsageError("give either --inputs-only or --outputs-only, not both")
    source = open_source()
    action = require_action(source, run_name, action_name)
    raw_inputs, raw_outputs = source.action_io(run_name, action_name)
    inputs = _decode(raw_inputs) if raw_inputs is not None else {}
    outputs = _decode(raw_outputs) if action.phase is ActionPhase.SUCCEEDED else None
    if output_format == "json":
        payload: dict[str, Any] = {"run": run_name, "action": action_name, "phase": action.phase.value}
        if not outputs_only:
            payload["inputs"] = inputs
        if not inputs_only:
            payload["outputs"] = outputs
        echo_json(payload)
        return
    if not outputs_only:
        _print_values("Inputs:", inputs, "none recorded")
    if not inputs_only:
        _print_values("Outputs:", outputs, f"not available: the action is {action.phase.value}")


@get.command("logs")
@store_option
@click.argument("run_name")
@click.argument("action_name", required=False)
@click.option("--show-ts", is_flag=True, help="Prefix each line with its time.")
@click.option("--stream", "streams", multiple=True, type=click.Choice(["stdout", "stderr", "log"]),
              help="Only lines of this stream (repeat for several).")  # fmt: skip
@output_format_option
def get_logs(
    run_name: str, action_name: str | None, show_ts: bool, streams: tuple[str, ...], output_format: str
) -> None:
    """Print the captured stdout, stderr and logging lines of a run or of one of its actions.

    For a whole run, each line starts with the name of the action that printed it.

    \b
    Examples:
      flyte get logs NAME
      flyte get logs NAME a1 --show-ts --stream stderr
    """
    source = open_source()
    if action_name is None:
        require_run(source, run_name)
    else:
        require_action(source, run_name, action_name)
    records = [r for r in source.get_logs(run_name, action_name) if not streams or r.stream in streams]
    if output_format == "json":
        echo_json(
            [
                {
                    "action": r.action,
                    "attempt": r.attempt,
                    "stream": r.stream,
                    "at": iso_time(r.at),
                    "line": r.line,
                }
                for r in records
            ]
        )
        return
    if not records:
        what = f"action '{action_name}' of run '{run_name}'" if action_name else f"run '{run_name}'"
        click.echo(f"No output was captured for {what}.", err=True)
    for record in records:
        prefix = f"{clock_time(record.at)} " if show_ts else ""
        if action_name is None:
            prefix += f"[{record.action}] "
        click.echo(prefix + record.line)


@get.command("report")
@store_option
@click.argument("run_name")
@click.argument("action_name", default="a0")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report to this file instead of printing its path.")  # fmt: skip
def get_report(run_name: str, action_name: str, output: Path | None) -> None:
    """Show where the report of an action (default: the run's root) is, or save a copy.

    \b
    Examples:
      flyte get report NAME
      flyte get report NAME a1 -o report.html
    """
    source = open_source()
    action = require_action(source, run_name, action_name)
    if not action.report_path:
        fail(f"Action '{action_name}' of run '{run_name}' has no report (its task was not report=True)")
    if output is None:
        click.echo(action.report_path)  # a local path, or the server's URL of it
        return
    data = source.read_report(action)
    if data is None:
        fail(f"cannot copy the report {action.report_path} to {output}: it is missing")
    try:
        output.write_bytes(data)
    except OSError as e:
        fail(f"cannot copy the report {action.report_path} to {output}: {e.strerror or e}", e)
    click.echo(f"Wrote {output}")
