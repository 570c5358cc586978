"""``pyflyte``: flytekit's command line, for ``pyflyte run`` on flyte-engine.

``pyflyte run [--remote] FILE ENTITY --input value ...`` loads FILE, finds the task, workflow or
launch plan ENTITY in it and runs it on the engine: locally by default, on the control plane the
flyte config names with ``--remote``. Inputs are parsed as flytekit parses them: scalars as text,
``--flag/--no-flag`` for booleans, lists, dicts and dataclasses as JSON, files and directories
as paths (uploaded into the blob store). The output is ``flyte run``'s (run name, outputs).

``pyflyte register`` / ``package`` / ``serialize`` hand over to ``flyte deploy`` where this
engine has it, and otherwise say so in one line.
"""

from __future__ import annotations

import sys
from typing import Any

import click


@click.group()
@click.option("-c", "--config", "config", default=None, help="A flyte config file (for --remote).")
@click.option("-v", "--verbose", is_flag=True, help="Accepted for compatibility.")
@click.pass_context
def main(ctx: click.Context, config: str | None, verbose: bool) -> None:
    """flytekit's pyflyte on flyte-engine."""
    ctx.ensure_object(dict)
    ctx.find_root().meta["flyte.config"] = config


def _entity_task(entity: Any) -> tuple[Any, Any, dict[str, Any]]:
    """The template to run, the interface the command line offers, and a launch plan's fixed inputs."""
    from flyte._interface import NativeInterface
    from flytekit.core.launch_plan import LaunchPlan

    if isinstance(entity, LaunchPlan):
        wf = entity.workflow
        inputs = {
            k: (tp, entity.default_inputs.get(k, d))
            for k, (tp, d) in wf.interface.inputs.items()
            if k not in entity.fixed_inputs
        }
        return wf, NativeInterface(inputs=inputs, outputs=wf.interface.outputs), dict(entity.fixed_inputs)
    return entity, entity.interface, {}


@main.command(
    context_settings={
        "ignore_unknown_options": True,
        "allow_extra_args": True,
        "allow_interspersed_args": False,
    }
)
@click.option("--remote", is_flag=True, help="Run on the control plane of the flyte config.")
@click.option(
    "--wait", "--follow", "wait", is_flag=True, help="With --remote: wait for the run and print its outputs."
)
@click.option("--name", default=None, help="Name of the run.")
@click.option("-e", "--env", "env", multiple=True, help="KEY=VALUE environment variables for the run.")
@click.option("--overwrite-cache", is_flag=True, help="Accepted for compatibility.")
@click.option("--project", "-p", default=None)
@click.option("--domain", "-d", default=None)
@click.argument("file")
@click.argument("entity")
@click.pass_context
def run(
    ctx: click.Context,
    remote: bool,
    wait: bool,
    name: str | None,
    env: tuple[str, ...],
    overwrite_cache: bool,
    project: str | None,
    domain: str | None,
    file: str,
    entity: str,
) -> None:
    """Run ENTITY (a task, workflow or launch plan) of FILE with --input value arguments."""
    from flyte._internal.loader import load_module
    from flyte.cli._params import options_for, values_from_cli
    from flyte.cli._run import _execute
    from flyte.errors import ModuleLoadError

    try:
        module = load_module(file)
    except ModuleLoadError as e:
        raise click.ClickException(str(e)) from None
    target = getattr(module, entity, None)
    if target is None or not hasattr(target, "fk_inputs"):
        names = sorted(
            k for k, v in vars(module).items() if hasattr(v, "fk_inputs") and not k.startswith("_")
        )
        raise click.ClickException(
            f"'{file}' has no task, workflow or launch plan named '{entity}'; "
            f"it has: {', '.join(names) or 'none'}"
        )
    task, cli_interface, fixed = _entity_task(target)
    if remote:
        from flyte.cli import _remote

        if not _remote.remote_configured():
            raise click.ClickException(
                "--remote needs a control plane: run 'flyte create config --devbox' (or --endpoint URL) first"
            )
    run_opts: dict[str, Any] = {
        "local": not remote,
        "follow": wait,
        "name": name,
        "env": env,
        "project": project,
        "domain": domain,
    }
    inputs_cmd = click.Command(
        entity,
        callback=lambda **params: _execute(
            task, run_opts, {**values_from_cli(cli_interface, params), **fixed}
        ),
        params=list[click.Parameter](options_for(cli_interface)),
    )
    inputs_cmd.main(args=list(ctx.args), prog_name=f"pyflyte run {file} {entity}", standalone_mode=False)


def _hand_over(command: str) -> None:
    from flyte.cli.main import main as flyte_main

    if "deploy" in getattr(flyte_main, "commands", {}):
        click.echo(f"pyflyte {command}: deploying with 'flyte deploy'", err=True)
        flyte_main.main(args=["deploy", *sys.argv[2:]], standalone_mode=True)
        return
    raise click.ClickException(
        f"pyflyte {command}: flyte-engine registers workflows with 'flyte deploy', which this installation "
        "does not have yet; run them on the devbox with 'pyflyte run --remote FILE WORKFLOW' instead"
    )


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
def register() -> None:
    """Register workflows (handed to 'flyte deploy')."""
    _hand_over("register")


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
def package() -> None:
    """Package workflows (handed to 'flyte deploy')."""
    _hand_over("package")


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
def serialize() -> None:
    """Serialize workflows (handed to 'flyte deploy')."""
    _hand_over("serialize")


if __name__ == "__main__":
    main()
