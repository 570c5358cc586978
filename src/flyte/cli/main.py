"""Entry point of the ``flyte`` command."""

from __future__ import annotations

import click

import flyte.cli._inspect  # noqa: F401  (registers `get runs|run|action|io|logs`)
import flyte.cli._remote  # noqa: F401  (registers `create config`)
import flyte.cli._secrets  # noqa: F401  (registers the `secret` subcommands)
from flyte import __version__
from flyte.cli._abort import abort, rerun  # also registers `delete local-cache`
from flyte.cli._groups import create, delete, get
from flyte.cli._run import run
from flyte.cli._server import start  # also registers `create api-key`


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="flyte")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks and debug output.")
@click.option("-c", "--config", "config_file", default=None, help="Path to a config file.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool, config_file: str | None) -> None:
    """flyte: run and inspect Flyte workflows, locally or on a control plane."""
    ctx.meta["flyte.verbose"] = verbose
    ctx.meta["flyte.config"] = config_file


cli.add_command(run)
cli.add_command(create)
cli.add_command(get)
cli.add_command(delete)
cli.add_command(abort)
cli.add_command(rerun)
cli.add_command(start)


def main() -> None:
    cli(prog_name="flyte")


if __name__ == "__main__":
    main()
