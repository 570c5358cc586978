"""``flyte abort run|action``, ``flyte rerun`` and ``flyte delete local-cache``: act on recorded runs.

``abort run`` only asks: it records the request in the run store, and the process executing the
run (which polls the store) cancels it, so that every unfinished action ends as aborted.
Importing this module registers ``local-cache`` on the ``delete`` group; ``abort`` and ``rerun``
are commands for ``main.py`` to add.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NoReturn, TypeVar

import click

import flyte
from flyte._internal.run_config import flyte_home, new_run_name
from flyte._internal.store import TaskCache
from flyte.cli._errors import fail
from flyte.cli._groups import delete
from flyte.cli._inspect import open_local_store, open_source, require_action, require_run
from flyte.cli._run import failure_message, failure_origin, report_run
from flyte.errors import ActionNotFoundError
from flyte.models import ActionPhase

__all__ = ["abort", "delete", "rerun"]

ABORT_POLL_SECONDS = 0.1

T = TypeVar("T")


# -- abort ----------------------------------------------------------------------------------------


@click.group(name="abort")
def abort() -> None:
    """Abort something that is going on, such as a run executing in another process.

    \b
    Examples:
      flyte abort run NAME
      flyte abort action NAME a3
    """


@abort.command("run")
@click.argument("name")
@click.option(
    "--reason", default="aborted by the user", show_default=True, help="Recorded on every aborted action."
)
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until the run has stopped.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds to wait with --wait.",
)
def abort_run(name: str, reason: str, wait: bool, timeout: float) -> None:
    """Abort run NAME: its unfinished actions end as aborted, with REASON.

    Works for a run executing in another ``flyte run`` process on this machine; exits 1 when the
    run is not running.

    \b
    Examples:
      flyte abort run NAME
      flyte abort run NAME --reason "wrong inputs" --no-wait
    """
    source = open_source()
    record = require_run(source, name)
    if record.ended_at is not None:
        fail(f"Run '{name}' is not running: it already ended as {record.phase.value}")
    if not source.request_abort(name, reason):
        record = source.get_run(name) or record
        fail(f"Run '{name}' is not running: it ended as {record.phase.value}")
    if not wait:
        click.echo(f"Abort of run '{name}' requested; the process running it will stop it shortly.")
        return
    record = _poll_until(lambda: source.get_run(name) or record, lambda r: r.ended_at is not None, timeout)
    if record.ended_at is None:
        click.echo(f"Abort of run '{name}' requested; it is still stopping after {timeout:g}s.")
    elif record.phase is ActionPhase.ABORTED:
        click.echo(f"Run '{name}' aborted: {reason}")
    else:
        click.echo(f"Run '{name}' ended as {record.phase.value} before the abort took effect.")


@abort.command("action")
@click.argument("run_name")
@click.argument("action_name")
@click.option(
    "--reason", default="aborted by the user", show_default=True, help="Recorded on the aborted actions."
)
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until the action has stopped.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds to wait with --wait.",
)
def abort_action(run_name: str, action_name: str, reason: str, wait: bool, timeout: float) -> None:
    """Abort action ACTION_NAME of run RUN_NAME and every action under it.

    The run goes on: the parent's call of the aborted action raises ``flyte.errors.ActionAbortedError``,
    which the parent may catch (if it does not, the parent fails with it). Aborting ``a0`` aborts the
    whole run. Exits 1 when the action is not running.

    \b
    Examples:
      flyte abort action RUN a3
      flyte abort action RUN a3 --reason "stuck on a bad shard" --no-wait
    """
    source = open_source()
    action = require_action(source, run_name, action_name)
    if action.phase.is_terminal:
        fail(f"Action '{action_name}' of run '{run_name}' is not running: it ended as {action.phase.value}")
    if not source.request_action_abort(run_name, action_name, reason):
        fail(f"Run '{run_name}' is not running, so its action '{action_name}' cannot be aborted")
    if not wait:
        click.echo(
            f"Abort of action '{action_name}' of run '{run_name}' requested; "
            "the process running it will stop it shortly."
        )
        return
    action = _poll_until(
        lambda: source.get_action(run_name, action_name) or action, lambda a: a.phase.is_terminal, timeout
    )
    if not action.phase.is_terminal:
        click.echo(f"Abort of action '{action_name}' requested; it is still stopping after {timeout:g}s.")
    elif action.phase is ActionPhase.ABORTED:
        click.echo(f"Action '{action_name}' of run '{run_name}' aborted: {reason}")
    else:
        click.echo(f"Action '{action_name}' ended as {action.phase.value} before the abort took effect.")


def _poll_until(read: Callable[[], T], done: Callable[[T], bool], timeout: float) -> T:
    """``read()`` every ABORT_POLL_SECONDS until ``done`` says so or ``timeout`` passes; the last read."""
    deadline = time.monotonic() + timeout
    current = read()
    while not done(current) and time.monotonic() < deadline:
        time.sleep(ABORT_POLL_SECONDS)
        current = read()
    return current


# -- rerun ----------------------------------------------------------------------------------------


def _report_failure(name: str, error: BaseException) -> NoReturn:
    """Exit 1 with the same message ``flyte run`` prints for a failed run."""
    source = open_source()
    record = source.get_run(name)
    if record is None:  # the run never started (its task could not be loaded, ...)
        fail(str(error), error)
    origin = failure_origin(source.list_actions(name))
    where = f"task '{origin.task_name}' (action {origin.name})" if origin else f"task '{record.task_name}'"
    fail(failure_message(name, record.phase, where, f"{type(error).__name__}: {error}"), error)


@click.command("rerun")
@click.argument("run_name")
@click.option(
    "--recover",
    is_flag=True,
    help="Reuse what RUN_NAME already finished (succeeded actions, traces); execute only the rest.",
)
@click.option("--name", default=None, help="Name of the new run (default: a random name).")
def rerun(run_name: str, recover: bool, name: str | None) -> None:
    """Run the task of RUN_NAME again with the same inputs, as a new run (where RUN_NAME ran).

    \b
    Examples:
      flyte rerun r3k2j1h0g9f8e7d6
      flyte rerun r3k2j1h0g9f8e7d6 --recover --name second-try
    """
    source = open_source()
    require_run(source, run_name)
    if name is not None and source.get_run(name) is not None:
        fail(f"A run named '{name}' already exists; choose another name")
    new_name = name or new_run_name()
    started = time.monotonic()
    try:
        run = flyte.rerun(run_name, recover=recover, name=new_name)
    except ActionNotFoundError as e:
        fail(str(e), e)
    except Exception as e:
        _report_failure(new_name, e)
    run.wait()  # a rerun on a control plane is only queued when flyte.rerun returns
    report_run(run, time.monotonic() - started)


# -- delete local-cache ------------------------------------------------------------------------


@delete.command("local-cache")
def delete_local_cache() -> None:
    """Remove every entry of the local task cache (``cache=...`` tasks execute again).

    \b
    Examples:
      flyte delete local-cache
    """
    removed = TaskCache(open_local_store()).clear()
    click.echo(
        f"Removed {removed} entr{'y' if removed == 1 else 'ies'} from the local task cache ({flyte_home()})."
    )
