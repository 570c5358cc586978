"""``flyte run``: run a task from a file, a module or a built-in demo, with typed options."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, NoReturn

import click

from flyte._internal.controllers.local import LocalController
from flyte._internal.loader import find_task, load_module, tasks_in
from flyte._internal.run_config import new_run_name
from flyte._internal.store import ActionRecord
from flyte._run import _Runner, run_local
from flyte._syncify import run_sync
from flyte._task import TaskTemplate
from flyte.cli._errors import fail, note, shorten
from flyte.cli._format import error_text
from flyte.cli._live import LiveView
from flyte.cli._params import options_for, parse_pairs, values_from_cli
from flyte.models import ActionPhase
from flyte.remote import Run

BUILTIN_DEMOS = {"hello": ("flyte.cli._demos", "hello")}
"""Runnable without a file: ``flyte run --local hello``."""


def _parse_env(values: tuple[str, ...]) -> dict[str, str]:
    return parse_pairs(values, "-e/--env")


_FAILED = (ActionPhase.FAILED, ActionPhase.TIMED_OUT)


def failure_origin(actions: list[ActionRecord]) -> ActionRecord | None:
    """The deepest failed action carrying the root's error (same type and message): where the
    failure started. The same rule for every source, since records are all a source gives."""
    from flyte.cli._inspect import walk_tree

    root = next((a for a in actions if a.name == "a0"), None)
    found = root
    for action, _depth in walk_tree(actions):
        same = root is not None and (action.error_type, action.error_message) == (
            root.error_type,
            root.error_message,
        )
        if same and action.phase in _FAILED:
            found = action
    return found


def _format_value(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


def failure_message(run_name: str, phase: ActionPhase, where: str, detail: str | None) -> str:
    """The one-line message for a failed run: which task raised what (``detail``: ``Type: message``)."""
    detail = detail or phase.value
    return f"Run {run_name} {phase.value}: {where} raised {shorten(detail, f'flyte get run {run_name}')}"


def report_failure(run: Run) -> NoReturn:
    """Exit 1 with the line saying which task of ``run`` raised what (local and remote runs alike)."""
    actions = run.source.list_actions(run.name)
    origin = failure_origin(actions)
    root = next((a for a in actions if a.name == "a0"), None)
    where = f"task '{origin.task_name}' (action {origin.name})" if origin else f"task '{run.task_name}'"
    detail = error_text(root.error_type, root.error_message) if root is not None else None
    error = run.action.error if root is not None else None
    fail(failure_message(run.name, run.phase, where, detail), error)


def report_run(run: Run, elapsed: float) -> None:
    """How ``flyte run`` ends: the outputs of a succeeded run, else exit 1 with its failure."""
    if run.phase is not ActionPhase.SUCCEEDED:
        report_failure(run)
    report_success(run, elapsed)


def report_success(run: Run, elapsed: float) -> None:
    """Print a succeeded run: a summary line, recovered actions if any, then the outputs."""
    actions = run.actions()
    count = len(actions)
    click.echo(f"Run {run.name} succeeded in {elapsed:.2f}s ({count} action{'s' if count != 1 else ''})")
    recovered = sum(1 for a in actions if a.cache_status == "recovered")
    if recovered:
        click.echo(f"Recovered {recovered} action{'s' if recovered != 1 else ''} from the earlier run.")
    outputs = run.outputs()
    if outputs:
        click.echo("Outputs:")
        for key, value in outputs.named_outputs.items():
            click.echo(f"  {key}: {_format_value(value)}")


def _execute(task: TaskTemplate, run_opts: dict[str, Any], inputs: dict[str, Any]) -> None:
    if not run_opts.get("local"):
        from flyte.cli import _remote  # the HTTP client loads only for remote runs

        if _remote.remote_configured():
            _remote.execute_remote(task, run_opts, inputs)
            return
    config = runner_for("local", run_opts)._config()
    controllers: list[LocalController] = []
    started = time.monotonic()
    with LiveView(lambda: controllers[0] if controllers else None):
        run = run_sync(
            run_local(task, (), inputs, config, raise_errors=False, on_controller=controllers.append)
        )
    elapsed = time.monotonic() - started
    for action in run.actions():
        if action.report_path:
            click.echo(f"Report of {action.task_name} ({action.name}): {action.report_path}", err=True)
    report_run(run, elapsed)


def runner_for(mode: str, run_opts: dict[str, Any]) -> _Runner:
    """The run settings ``flyte run``'s options stand for, the same for local and remote runs."""
    try:
        return _make_runner(mode, run_opts)
    except (ValueError, TypeError) as e:
        fail(str(e), e, code=2)


def _make_runner(mode: str, run_opts: dict[str, Any]) -> _Runner:
    return _Runner(
        mode,  # type: ignore[arg-type]
        name=run_opts.get("name") or new_run_name(),
        env_vars=_parse_env(run_opts.get("env") or ()),
        max_action_concurrency=run_opts.get("max_action_concurrency"),
        isolate=bool(run_opts.get("isolate")),
        strict_resources=bool(run_opts.get("strict_resources")),
        project=run_opts.get("project"),
        domain=run_opts.get("domain"),
        raw_data_path=run_opts.get("raw_data_path"),
        labels=parse_pairs(run_opts.get("label") or (), "--label"),
    )


# The reference's `run` options that only mean something on its hosted backend: accepted, noted.
_HOSTED_ONLY = {
    "copy_style": "--copy-style",
    "service_account": "--service-account",
    "image": "--image",
    "run_project": "--run-project",
    "run_domain": "--run-domain",
    "no_sync_local_sys_paths": "--no-sync-local-sys-paths",
}


def task_command(task: TaskTemplate, name: str) -> click.Command:
    """A click command whose options are the task's inputs."""

    @click.pass_context
    def callback(ctx: click.Context, **params: Any) -> None:
        run_opts = ctx.find_object(dict) or {}
        _execute(task, run_opts, values_from_cli(task.interface, params))

    doc = (task.func.__doc__ or "").strip().splitlines()
    return click.Command(
        name,
        callback=callback,
        params=list[click.Parameter](options_for(task.interface)),
        help=f"Run task {task.name}. " + (doc[0] if doc else ""),
        short_help=f"{doc[0]} ({task.name})" if doc else f"Run task {task.name}.",  # the file's listing
    )


class FileGroup(click.Group):
    """The tasks of one file or module, each a sub-command."""

    def __init__(self, target: str, **kwargs: Any):
        super().__init__(name=target, **kwargs)
        self.target = target

    def list_commands(self, ctx: click.Context) -> list[str]:
        try:
            return sorted(tasks_in(load_module(self.target)))
        except Exception:
            return []

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        try:
            task = find_task(load_module(self.target), cmd_name)
        except Exception as e:
            fail(str(e), e)
        return task_command(task, cmd_name)


class RunGroup(click.Group):
    """``flyte run [OPTIONS] FILE TASK [TASK OPTIONS]``, or ``flyte run BUILTIN [OPTIONS]``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(BUILTIN_DEMOS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in BUILTIN_DEMOS and not Path(cmd_name).exists():
            module, task_name = BUILTIN_DEMOS[cmd_name]
            return task_command(find_task(load_module(module), task_name), cmd_name)
        return FileGroup(cmd_name, help=f"Tasks defined in {cmd_name}.")


@click.group(cls=RunGroup, invoke_without_command=False)
@click.option("--local", is_flag=True, help="Run on this machine (the default when no server is configured).")
@click.option("--name", default=None, help="Name of the run (default: a random name).")
@click.option("-e", "--env", multiple=True, metavar="KEY=VALUE", help="Environment variable for the run.")
@click.option(
    "--max-action-concurrency", type=click.IntRange(min=1), default=None, help="At most N actions at once."
)
@click.option("--isolate", is_flag=True, help="Run every action in a worker process (as on a cluster).")
@click.option(
    "--strict-resources",
    is_flag=True,
    help="Fail a task whose Resources exceed this machine instead of running it clamped to the machine.",
)
@click.option(
    "-f", "--follow", is_flag=True, help="On a control plane: show the live action tree until the run ends."
)
@click.option(
    "-p", "--project", default=None, help="Project the run belongs to (recorded; flyte.current_project())."
)
@click.option(
    "-d", "--domain", default=None, help="Domain the run belongs to (recorded; flyte.current_domain())."
)
@click.option("--raw-data-path", default=None, help="Where the run's tasks write their data.")
@click.option(
    "--label", multiple=True, metavar="KEY=VALUE", help="A label recorded with the run (repeatable)."
)
@click.option("--tui", is_flag=True, help="Show the live action tree (shown in a terminal anyway).")
@click.option(
    "--root-dir", default=None, help="Root of the code (the directory bundled for a control plane)."
)
@click.option("--copy-style", default=None, hidden=True)
@click.option("--service-account", default=None, hidden=True)
@click.option("--image", multiple=True, hidden=True)
@click.option("--run-project", default=None, hidden=True)
@click.option("--run-domain", default=None, hidden=True)
@click.option("--no-sync-local-sys-paths", is_flag=True, default=None, hidden=True)
@click.pass_context
def run(
    ctx: click.Context,
    local: bool,
    name: str | None,
    env: tuple[str, ...],
    max_action_concurrency: int | None,
    isolate: bool,
    strict_resources: bool,
    follow: bool,
    project: str | None,
    domain: str | None,
    raw_data_path: str | None,
    label: tuple[str, ...],
    tui: bool,
    root_dir: str | None,
    **hosted_only: Any,
):
    """Run a task: flyte run --local FILE TASK --input value ...

    \b
    Examples:
      flyte run --local wf.py main --n 3
      flyte run -p ml -d development --label team=blue wf.py train --epochs 2
    """
    _parse_env(env)  # reject a malformed -e before loading any user code
    parse_pairs(label, "--label")
    for key, given in hosted_only.items():
        if given:
            note(f"{_HOSTED_ONLY[key]} applies to the reference's hosted backend; it has no effect here")
    if root_dir is not None:
        import flyte

        flyte.init(root_dir=root_dir)
    ctx.obj = {
        "local": local,
        "name": name,
        "env": env,
        "max_action_concurrency": max_action_concurrency,
        "isolate": isolate,
        "strict_resources": strict_resources,
        "follow": follow,
        "project": project,
        "domain": domain,
        "raw_data_path": raw_data_path,
        "label": label,
        "tui": tui,
    }
