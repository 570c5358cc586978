"""Entry point of the ``flyte`` command."""

from __future__ import annotations

import os

import click

import flyte.cli._artifacts  # noqa: F401  (registers `get artifact`)
import flyte.cli._inspect  # noqa: F401  (registers `get runs|run|action|io|logs`)
import flyte.cli._projects  # noqa: F401  (registers `get project`, `create project`)
import flyte.cli._remote  # noqa: F401  (registers `create config`)
import flyte.cli._secrets  # noqa: F401  (registers the `secret` subcommands)
import flyte.cli._ui  # noqa: F401  (registers `start ui`)
from flyte import __version__
from flyte.cli._abort import abort, rerun  # also registers `delete local-cache`
from flyte.cli._build import build
from flyte.cli._deploy import deploy, update  # also registers `get task|trigger`, `delete trigger`
from flyte.cli._devbox_cli import stop  # also registers `get devbox`
from flyte.cli._errors import fail, note
from flyte.cli._format import OUTPUT_FORMATS
from flyte.cli._groups import create, delete, get
from flyte.cli._more import whoami  # also registers `get config`, `start tui`
from flyte.cli._run import run
from flyte.cli._server import start  # also registers `create api-key`
from flyte.cli._signal import signal  # also registers `get condition`


class FlyteGroup(click.Group):
    """The root group: a ``flyte.errors`` error that escapes a command (an unreachable server, a bad
    API key, ...) is one line on stderr and exit code 1; ``-v`` adds its traceback."""

    def invoke(self, ctx: click.Context) -> object:
        from flyte.errors import BaseRuntimeError

        try:
            return super().invoke(ctx)
        except BaseRuntimeError as e:
            fail(str(e), e)


@click.group(cls=FlyteGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="flyte")
@click.option("-v", "--verbose", count=True, help="Show tracebacks and debug output (repeatable: -vv, -vvv).")
@click.option("-c", "--config", "config_file", default=None, help="Path to a config file.")
@click.option("--endpoint", default=None, help="Control plane to use, overriding the config file's.")
@click.option("--insecure", is_flag=True, default=None, help="Plain http for an --endpoint without a scheme.")
@click.option(
    "--auth-type", default=None, help="Reference option for its hosted backend (API keys are used here)."
)
@click.option("--org", default=None, help="Organization (recorded; one organization here).")
@click.option(
    "-of",
    "--output-format",
    type=click.Choice(OUTPUT_FORMATS, case_sensitive=False),
    default=None,
    help="Default output format of the commands that list or show things: table, json or yaml.",
)
@click.option(
    "--log-format",
    type=click.Choice(["console", "json"], case_sensitive=False),
    envvar="LOG_FORMAT",
    default="console",
    help="Log lines as text (console) or one JSON object each.",
)
@click.pass_context
def main(
    ctx: click.Context,
    verbose: int,
    config_file: str | None,
    endpoint: str | None,
    insecure: bool | None,
    auth_type: str | None,
    org: str | None,
    output_format: str | None,
    log_format: str,
) -> None:
    """flyte: run and inspect Flyte workflows, locally or on a control plane.

    \b
    Examples:
      flyte run --local wf.py main --n 3
      flyte -of json get runs
      flyte --endpoint http://127.0.0.1:8080 get runs
    """
    ctx.meta["flyte.verbose"] = verbose > 0
    ctx.meta["flyte.config"] = config_file
    ctx.meta["flyte.endpoint"] = endpoint
    ctx.meta["flyte.insecure"] = bool(insecure)
    ctx.meta["flyte.org"] = org
    ctx.meta["flyte.output_format"] = output_format
    if auth_type is not None:
        note(f"--auth-type {auth_type} applies to the reference's hosted backend; API keys are used here")
    if log_format == "json":
        os.environ.setdefault("LOG_FORMAT", "json")


cli = main
"""The same click group under its former name."""

for _command in (run, deploy, build, create, get, update, delete, abort, rerun, start, stop, whoami, signal):
    main.add_command(_command)


if __name__ == "__main__":
    main(prog_name="flyte")
