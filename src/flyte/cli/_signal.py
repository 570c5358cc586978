"""``flyte signal condition`` and ``flyte get condition``: answer and inspect what a run waits for.

Both read the configured control plane, or this machine's run store (``--local``, or when no
control plane is configured), exactly like ``flyte get action``. Importing this module registers
``get condition`` on the ``get`` group; ``main.py`` adds the ``signal`` group.
"""

from __future__ import annotations

import asyncio
from typing import Any

import click

from flyte._internal.conditions import ConditionRecord
from flyte.cli._errors import fail
from flyte.cli._format import echo_json, iso_time, local_time, output_format_option, print_fields, print_table
from flyte.cli._groups import get
from flyte.cli._inspect import store_option
from flyte.errors import ActionNotFoundError, BaseRuntimeError
from flyte.models import ActionPhase

_HEADERS = ("NAME", "ACTION", "PARENT", "TYPE", "PHASE", "VALUE", "PROMPT")


def _source() -> Any:
    """The API client of the control plane to use, or None for the local run store."""
    from flyte.cli._remote import remote_configured

    ctx = click.get_current_context(silent=True)
    meta = ctx.find_root().meta if ctx else {}
    chosen = meta.get("flyte.store")
    if chosen == "remote" and not remote_configured():
        fail("--remote: no control plane is configured (flyte create config, or --endpoint URL)")
    if chosen != "local" and remote_configured():
        from flyte.remote._remote_run import client_from_config

        return client_from_config()
    return None


def _value_text(record: ConditionRecord) -> str:
    if record.phase is not ActionPhase.SUCCEEDED:
        return "-"
    value = record.value
    return "true" if value is True else "false" if value is False else str(value)


def _row(record: ConditionRecord) -> list[str]:
    prompt = record.prompt.splitlines()[0] if record.prompt else ""
    return [record.name, record.action, record.parent, record.data_type, record.phase.value,
            _value_text(record), prompt[:60]]  # fmt: skip


def _json(record: ConditionRecord) -> dict[str, Any]:
    data = record.to_dict()
    data["created_at"] = iso_time(record.created_at)
    data["resolved_at"] = iso_time(record.resolved_at)
    return data


def _run(coro: Any) -> Any:
    try:
        return asyncio.run(coro)
    except ActionNotFoundError as e:
        fail(str(e), e)
    except BaseRuntimeError as e:
        fail(str(e), e)


@get.command("condition")
@store_option
@click.argument("run_name")
@click.argument("action_name", required=False)
@output_format_option
def get_condition(run_name: str, action_name: str | None, output_format: str) -> None:
    """List the conditions of RUN_NAME; with ACTION_NAME, those created by that action (or, when
    ACTION_NAME names a condition or its action, that condition in detail).

    \b
    Examples:
      flyte get condition NAME
      flyte get condition NAME a0 -of json
    """
    from flyte.remote._condition import find_record, list_records

    client = _source()
    records: list[ConditionRecord] = _run(list_records(client, run_name, action_name))
    if action_name is not None and not records:
        found = _run(find_record(client, run_name, action_name))
        if found is None:
            fail(f"Run '{run_name}' has no condition or action named '{action_name}' with conditions")
        if output_format == "json":
            echo_json(_json(found))
            return
        print_fields(
            [("Name", found.name), ("Action", found.action), ("Run", found.run_name),
             ("Parent", found.parent), ("Type", found.data_type), ("Phase", found.phase.value),
             ("Value", _value_text(found)),
             ("Prompt", found.prompt), ("Description", found.description or "-"),
             ("Timeout", "-" if found.timeout is None else f"{found.timeout:g}s"),
             ("Created", local_time(found.created_at)), ("Answered by", found.resolved_by or "-")]
        )  # fmt: skip
        return
    if output_format == "json":
        echo_json([_json(r) for r in records])
        return
    print_table(_HEADERS, [_row(r) for r in records])


@click.group(name="signal")
def signal() -> None:
    """Answer what a paused run waits for.

    \b
    Examples:
      flyte signal condition RUN approve true
      flyte signal condition RUN threshold 0.75
    """


@signal.command("condition")
@store_option
@click.argument("run_name")
@click.argument("action_name")
@click.argument("value", required=False)
@click.option(
    "--by", default="flyte signal", show_default=True, help="Who answers (recorded with the answer)."
)
@output_format_option
def signal_condition(run_name: str, action_name: str, value: str | None, by: str, output_format: str) -> None:
    """Answer the condition ACTION_NAME of RUN_NAME (its action's name, or the condition's own name)
    with VALUE, converted to the condition's type: true/false for bool, an integer for int, a
    number for float, any text for str. Without VALUE, the prompt is shown and the value asked.

    \b
    Examples:
      flyte signal condition RUN approve true
      flyte signal condition RUN a3 42
      flyte signal condition RUN approve        # shows the prompt and asks
    """
    from flyte.remote._condition import find_record, signal_record

    client = _source()
    record = _run(find_record(client, run_name, action_name))
    if record is None:
        fail(f"Run '{run_name}' has no condition named '{action_name}' (by action or condition name)")
    if value is None:
        value = click.prompt(f"{record.prompt} [{record.data_type}]", type=str)
    answered = _run(signal_record(client, record, value, by))
    if output_format == "json":
        echo_json(_json(answered))
        return
    click.echo(
        f"Condition '{answered.name}' (action '{answered.action}' of run '{answered.run_name}') "
        f"answered with {_value_text(answered)}"
    )


signal.add_command(signal_condition, name="event")  # the name in earlier reference releases
