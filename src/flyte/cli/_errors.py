"""How the CLI reports errors: a readable line, the traceback only with -v."""

from __future__ import annotations

import traceback
from typing import NoReturn

import click

from flyte._internal.redaction import redact


def verbose() -> bool:
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx else None
    return bool(root and isinstance(root.obj, dict) and root.obj.get("verbose")) or bool(
        root and root.meta.get("flyte.verbose")
    )


MAX_MESSAGE = 2000
"""Characters of an error message the CLI prints; the full text stays in the run's record."""


def shorten(text: str, where: str = "", limit: int = MAX_MESSAGE) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out and where it is."""
    if len(text) <= limit:
        return text
    rest = f"; in full: {where}" if where else ""
    return f"{text[:limit]}... [shortened: {len(text):,} characters{rest}]"


def fail(message: str, error: BaseException | None = None, code: int = 1) -> NoReturn:
    """Print ``message`` (and the traceback when -v was given) to stderr and exit with ``code``."""
    if error is not None and verbose():
        trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        click.echo(redact(trace), err=True)
    click.secho(f"Error: {redact(shorten(message, limit=2 * MAX_MESSAGE))}", fg="red", err=True)
    raise SystemExit(code)


def note(message: str) -> None:
    """One line on stderr about an option that means nothing here (never an error)."""
    click.echo(f"note: {message}", err=True)
