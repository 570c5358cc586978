"""Shared output helpers of the inspection commands: times, durations, tables and JSON.

Tables render with rich when stdout is a terminal and as plain, aligned text otherwise (pipes,
files, tests), so that scripts can rely on a stable layout. ``-of json`` always prints exactly one
JSON document with stable keys; the ``*_to_dict`` functions below define those keys.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from flyte._internal.durations import format_duration as _format_duration
from flyte._internal.store import ActionRecord, RunRecord
from flyte.models import ActionPhase

F = TypeVar("F", bound=Callable[..., Any])

PHASE_STYLES: dict[ActionPhase, str] = {
    ActionPhase.QUEUED: "dim",
    ActionPhase.WAITING_FOR_RESOURCES: "dim",
    ActionPhase.INITIALIZING: "cyan",
    ActionPhase.RUNNING: "yellow",
    ActionPhase.PAUSED: "blue",
    ActionPhase.SUCCEEDED: "green",
    ActionPhase.FAILED: "bold red",
    ActionPhase.ABORTED: "magenta",
    ActionPhase.TIMED_OUT: "red",
}
"""How a phase is coloured in rich output."""

ERROR_SUMMARY_WIDTH = 70


OUTPUT_FORMATS = ("table", "table-simple", "json", "json-raw", "yaml")
"""The reference's ``-of`` choices (``table-simple``/``json-raw`` read as ``table``/``json``)."""


def _resolve_output_format(ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
    """The command's own ``-of`` if given, else the one before the subcommand (``flyte -of json get
    runs``), else ``table``. Structured formats come back as ``json``; which document syntax
    (JSON or YAML) ``echo_json`` writes is kept in the context."""
    root = ctx.find_root()
    chosen = (value or root.meta.get("flyte.output_format") or "table").lower()
    root.meta["flyte.document_format"] = "yaml" if chosen == "yaml" else "json"
    return "json" if chosen in ("json", "json-raw", "yaml") else "table"


def output_format_option(fn: F) -> F:
    """The ``-of/--output-format`` option shared by the commands that list or show things."""
    return click.option(
        "-of",
        "--output-format",
        type=click.Choice(OUTPUT_FORMATS, case_sensitive=False),
        default=None,
        callback=_resolve_output_format,
        help="table (default): aligned columns (rich in a terminal); json or yaml: one document.",
    )(fn)


def stdout_is_terminal() -> bool:
    """True when stdout is an interactive terminal (rich tables and trees are used then)."""
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


def rich_console() -> Console:
    """A rich console on stdout, not soft-wrapping (long errors are summarized, not wrapped)."""
    return Console(highlight=False)


# -- values --------------------------------------------------------------------------------------------


def iso_time(ts: float | None) -> str | None:
    """A timestamp as ISO 8601 in UTC (the JSON form), or None."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def local_time(ts: float | None) -> str:
    """A timestamp in local time for tables, or ``-``."""
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def clock_time(ts: float) -> str:
    """A timestamp as a local wall-clock time with milliseconds (phase histories, logs)."""
    moment = datetime.fromtimestamp(ts)
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def format_duration(seconds: float | None) -> str:
    """``0.42s``, ``12.3s``, ``4m05s``, ``2h03m``; ``-`` when unknown."""
    return _format_duration(seconds)


def run_elapsed(record: RunRecord, now: float | None = None) -> float:
    """How long a run took, or has been going for while it still runs."""
    end = record.ended_at if record.ended_at is not None else (now or time.time())
    return end - record.created_at


def action_elapsed(record: ActionRecord, now: float | None = None) -> float | None:
    """How long an action ran, or has been running for; None before it started."""
    if record.started_at is None:
        return None
    end = record.ended_at if record.ended_at is not None else (now or time.time())
    return end - record.started_at


def error_text(error_type: str | None, message: str | None) -> str | None:
    """``Type: message`` or None."""
    if error_type is None and message is None:
        return None
    if error_type is None:
        return message
    return f"{error_type}: {message}" if message else error_type


def summarize(text: str | None, width: int = ERROR_SUMMARY_WIDTH) -> str:
    """The first line of ``text``, cut to ``width`` characters; empty for None."""
    if not text:
        return ""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def display_value(value: Any) -> str:
    """A decoded input or output for a table: strings as they are, the rest as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=repr)


# -- dictionaries for -of json --------------------------------------------------------------------


def run_to_dict(record: RunRecord) -> dict[str, Any]:
    """The JSON form of a run (keys are stable)."""
    return {
        "name": record.name,
        "task_name": record.task_name,
        "phase": record.phase.value,
        "created_at": iso_time(record.created_at),
        "ended_at": iso_time(record.ended_at),
        "duration_s": record.duration,
        "error_type": record.error_type,
        "error_message": record.error_message,
        "source_run": record.source_run,
        "abort_reason": record.abort_reason,
        "labels": dict(record.labels),
    }


def action_to_dict(record: ActionRecord, *, depth: int | None = None) -> dict[str, Any]:
    """The JSON form of an action (keys are stable); ``depth`` is added for tree listings."""
    data: dict[str, Any] = {
        "run_name": record.run_name,
        "name": record.name,
        "parent": record.parent,
        "task_name": record.task_name,
        "group": record.group,
        "phase": record.phase.value,
        "attempts": record.attempts,
        "cache_status": record.cache_status,
        "created_at": iso_time(record.created_at),
        "started_at": iso_time(record.started_at),
        "ended_at": iso_time(record.ended_at),
        "duration_s": record.duration,
        "error_type": record.error_type,
        "error_message": record.error_message,
    }
    if record.error_code is not None:  # a flyte error's own code (RuntimeUserError("Quota", ...))
        data["error_code"] = record.error_code
    if depth is not None:
        data["depth"] = depth
    return data


def echo_json(payload: Any) -> None:
    """Print ``payload`` as one document: indented JSON, or YAML with ``-of yaml``."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.find_root().meta.get("flyte.document_format") == "yaml":
        import yaml

        plain = json.loads(json.dumps(payload, ensure_ascii=False, default=repr))
        click.echo(yaml.safe_dump(plain, sort_keys=False, allow_unicode=True).rstrip())
        return
    click.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=repr))


# -- tables ------------------------------------------------------------------------------------------


def phase_text(phase: ActionPhase) -> Text:
    return Text(phase.value, style=PHASE_STYLES.get(phase, ""))


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns separated by two spaces, each as wide as its widest cell; trailing spaces cut."""
    widths = [max(len(str(row[c])) for row in [headers, *rows]) for c in range(len(headers))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    )


def print_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    styles: Sequence[Sequence[str]] | None = None,
) -> None:
    """A table on stdout: rich in a terminal, plain aligned text otherwise.

    ``styles`` gives a rich style per cell (same shape as ``rows``); plain output ignores it.
    """
    if not stdout_is_terminal():
        if title:
            click.echo(title)
        click.echo(plain_table(headers, rows))
        return
    table = Table(title=title, title_justify="left", header_style="bold", box=None, pad_edge=False)
    for header in headers:
        table.add_column(header, overflow="fold")
    for index, row in enumerate(rows):
        cell_styles = styles[index] if styles is not None else [""] * len(row)
        table.add_row(*(Text(str(cell), style=style) for cell, style in zip(row, cell_styles, strict=True)))
    rich_console().print(table)


def print_fields(fields: Sequence[tuple[str, str]], *, styles: dict[str, str] | None = None) -> None:
    """``Key:  value`` lines, keys aligned (rich-styled values in a terminal)."""
    width = max((len(key) for key, _ in fields), default=0) + 1
    if not stdout_is_terminal():
        for key, value in fields:
            click.echo(f"{key + ':':<{width}}  {value}".rstrip())
        return
    console = rich_console()
    for key, value in fields:
        line = Text(f"{key + ':':<{width}}  ", style="bold")
        line.append(value, style=(styles or {}).get(key, ""))
        console.print(line)
