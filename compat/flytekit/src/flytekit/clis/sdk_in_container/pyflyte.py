"""``pyflyte``: flytekit's command line, for ``pyflyte run`` on flyte-engine.

``pyflyte run [--remote] FILE ENTITY --input value ...`` loads FILE, finds the task, workflow or
launch plan ENTITY in it and runs it on the engine: locally by default, on the control plane the
flyte config names with ``--remote``. Inputs are parsed as flytekit parses them: scalars as text,
``--flag/--no-flag`` for booleans, lists, dicts and dataclasses as JSON, files and directories
as paths (uploaded into the blob store). The output is ``flyte run``'s (run name, outputs).

``pyflyte register [--version V] [--activate-launchplans] FILE_OR_DIR...`` deploys the flytekit
entities found (see ``register.py``); ``pyflyte package`` is its dry run (no package file is
written); ``pyflyte launchplan --activate|--deactivate NAME`` starts or stops a registered
schedule; ``pyflyte serialize`` says in one line that it is not needed.
"""

from __future__ import annotations

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


def _register_files(
    paths: tuple[str, ...], version: str | None, activate: bool, dryrun: bool, copy: str, command: str
) -> None:
    """Load ``paths``, deploy their implicit environments (or dry-run it) and print flytekit's lines."""
    from pathlib import Path

    import flyte
    from flyte._initialize import is_initialized
    from flyte.cli import _remote
    from flyte.errors import CodeBundleError, DeploymentError, ModuleLoadError
    from flytekit.clis.sdk_in_container import register as reg

    if not paths:
        raise click.UsageError(f"pyflyte {command}: give the files or directories to register")
    if not dryrun and not _remote.remote_configured():
        raise click.ClickException(
            f"pyflyte {command} needs a control plane: run 'flyte create config --devbox' "
            "(or --endpoint URL) first, or 'pyflyte package' to see what would be registered"
        )
    if not is_initialized():
        flyte.init(root_dir=Path.cwd())
    copy_style = {"auto": "loaded_modules", "all": "all", "none": "none"}[copy]
    try:
        registration = reg.collect(paths, Path.cwd(), activate=activate)
        tasks = reg.deploy(registration, version, dryrun, copy_style)
    except (DeploymentError, CodeBundleError, ModuleLoadError) as e:
        raise click.ClickException(str(e)) from None
    for line in reg.report_lines(registration, tasks, dryrun):
        click.echo(line)
    if dryrun:
        click.echo(
            "flyte-engine has no package file: 'pyflyte register' deploys straight from the source "
            "(this was its dry run)"
        )


_VERSION_HELP = "Version of every registered entity (default: a hash of the code and settings)."
_COPY_HELP = "What goes into the code bundle: the loaded modules (auto) or every file (all)."


@main.command()
@click.option("--version", default=None, help=_VERSION_HELP)
@click.option(
    "--activate-launchplans",
    "--activate-launchplan",
    "activate",
    is_flag=True,
    help="Activate the scheduled launch plans registered (otherwise only those with auto_activate=True).",
)
@click.option("--dry-run", "dry_run", is_flag=True, help="Show what would be registered; register nothing.")
@click.option("--copy", type=click.Choice(["auto", "all", "none"]), default="auto", help=_COPY_HELP)
@click.option("--non-fast", is_flag=True, help="Accepted for compatibility (code always ships as a bundle).")
@click.option("-p", "--project", default=None, help="Accepted for compatibility.")
@click.option("-d", "--domain", default=None, help="Accepted for compatibility.")
@click.argument("package_or_module", nargs=-1, type=click.Path(exists=True))
def register(
    version: str | None,
    activate: bool,
    dry_run: bool,
    copy: str,
    non_fast: bool,
    project: str | None,
    domain: str | None,
    package_or_module: tuple[str, ...],
) -> None:
    """Register the tasks, workflows and launch plans of files or directories on the control plane.

    Each task and each workflow becomes a deployed task version (``flyte.deploy`` of the modules'
    implicit environments); a scheduled launch plan becomes a trigger on its workflow.
    """
    _register_files(package_or_module, version, activate, dry_run, copy, "register")


@main.command()
@click.option("--version", default=None, help=_VERSION_HELP)
@click.option("--copy", type=click.Choice(["auto", "all", "none"]), default="auto", help=_COPY_HELP)
@click.option("--fast", is_flag=True, help="Accepted for compatibility.")
@click.option(
    "-s", "--source", "source", multiple=True, type=click.Path(exists=True), help="Files or directories."
)
@click.option("-o", "--output", default=None, help="Accepted for compatibility; nothing is written.")
@click.option("-f", "--force", is_flag=True, help="Accepted for compatibility.")
@click.argument("package_or_module", nargs=-1, type=click.Path(exists=True))
def package(
    version: str | None,
    copy: str,
    fast: bool,
    source: tuple[str, ...],
    output: str | None,
    force: bool,
    package_or_module: tuple[str, ...],
) -> None:
    """Show what 'pyflyte register' would register (its dry run); no package file is produced."""
    _register_files((*source, *package_or_module) or (".",), version, False, True, copy, "package")


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
def serialize() -> None:
    """Not needed on flyte-engine: 'pyflyte register' deploys from the source."""
    raise click.ClickException(
        "pyflyte serialize: flyte-engine registers from the source, not from serialized protobufs; "
        "use 'pyflyte register FILE' (or 'pyflyte package FILE' for a dry run)"
    )


@main.command("launchplan")
@click.option("--activate/--deactivate", "activate", required=True, help="Start or stop the schedule.")
@click.option("-p", "--project", default=None, help="Accepted for compatibility.")
@click.option("-d", "--domain", default=None, help="Accepted for compatibility.")
@click.argument("launchplan")
@click.argument("launchplan_version", required=False)
def launchplan(
    activate: bool, project: str | None, domain: str | None, launchplan: str, launchplan_version: str | None
) -> None:
    """Activate or deactivate the schedule of the registered launch plan LAUNCHPLAN."""
    from flyte.cli import _remote
    from flyte.remote._trigger import Trigger

    if not _remote.remote_configured():
        raise click.ClickException(
            "pyflyte launchplan needs a control plane: run 'flyte create config --devbox' first"
        )
    found = [t for t in Trigger.listall(limit=100_000) if t.name == launchplan]
    if not found:
        raise click.ClickException(
            f"pyflyte launchplan: no scheduled launch plan named '{launchplan}' is registered"
        )
    for t in found:
        Trigger.update(launchplan, t.task_name, active=activate)
        click.echo(f"Launch plan {launchplan} ({t.task_name}) is now {'active' if activate else 'inactive'}")


if __name__ == "__main__":
    main()
