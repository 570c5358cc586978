"""``flyte deploy``, ``flyte get task|trigger``, ``flyte update trigger``, ``flyte delete trigger``.

Importing this module defines ``deploy`` and ``update`` and registers ``task`` and ``trigger`` on
the shared ``get`` and ``delete`` groups.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from flyte.cli._errors import fail
from flyte.cli._format import echo_json, output_format_option, print_fields, print_table
from flyte.cli._groups import delete, get
from flyte.cli._remote import remote_configured

__all__ = ["deploy", "update"]


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _environments(target: Path, env_name: str | None, recursive: bool) -> list[Any]:
    from flyte._environment import Environment
    from flyte._internal.loader import load_module

    files = (
        sorted(target.rglob("*.py") if recursive else target.glob("*.py")) if target.is_dir() else [target]
    )
    found: dict[str, Any] = {}
    for file in files:
        module = load_module(str(file))
        for value in list(vars(module).values()):
            if isinstance(value, Environment) and getattr(value, "tasks", None) is not None:
                found.setdefault(value.name, value)
    if env_name is not None:
        if env_name not in found:
            fail(
                f"No environment named '{env_name}' in {target}; found: {', '.join(sorted(found)) or 'none'}"
            )
        return [found[env_name]]
    if not found:
        fail(f"No task environment in {target}")
    return list(found.values())


def _automation_text(a: dict[str, Any]) -> str:
    if a.get("kind") == "cron":
        return f"cron '{a.get('expression')}' ({a.get('timezone', 'UTC')})"
    return f"every {a.get('interval_minutes')} min"


@click.command("deploy")
@click.argument("target", type=click.Path(exists=True, path_type=Path))
@click.argument("env_name", required=False)
@click.option(
    "--version", default=None, help="Version to register (default: a hash of the code and settings)."
)
@click.option(
    "--dry-run", "--dryrun", "dry_run", is_flag=True, help="Print what would be registered; register nothing."
)
@click.option(
    "--all", "deploy_all", is_flag=True, help="Deploy every environment found (the default without ENV)."
)
@click.option(
    "--recursive", "-r", is_flag=True, help="TARGET is a directory: load its .py files recursively."
)
@click.option(
    "--copy-style",
    type=click.Choice(["loaded_modules", "all"]),
    default="loaded_modules",
    show_default=True,
    help="What goes into the code bundle.",
)
@output_format_option
def deploy(
    target: Path,
    env_name: str | None,
    version: str | None,
    dry_run: bool,
    deploy_all: bool,
    recursive: bool,
    copy_style: str,
    output_format: str,
) -> None:
    """Register the tasks of an environment (and of those it depends on) on the control plane.

    \b
    Examples:
      flyte deploy wf.py my_env
      flyte deploy --dry-run wf.py
      flyte deploy --version v1 wf.py my_env
      flyte deploy --recursive --all src/
    """
    import flyte
    from flyte._deploy import deploy as deploy_envs

    if env_name is not None and deploy_all:
        fail("give ENV or --all, not both")
    if not remote_configured() and not dry_run:
        fail(
            "No control plane is configured: run `flyte create config --devbox` after `flyte start devbox`, "
            "pass --endpoint, or use --dry-run to see what would be registered"
        )
    if not flyte._initialize.is_initialized():
        flyte.init(root_dir=Path.cwd())
    envs = _environments(target, env_name, recursive)
    deployments = deploy_envs(*envs, dryrun=dry_run, version=version, copy_style=copy_style)  # type: ignore[arg-type]
    tasks = [t for d in deployments for t in d.deployed_tasks]
    if output_format == "json":
        echo_json(
            [{"name": t.name, "version": t.version, "created": t.created, "spec": t.spec} for t in tasks]
        )
        return
    verb = "Would register" if dry_run else "Deployed"
    rows = []
    for t in tasks:
        state = "dry run" if dry_run else ("registered" if t.created else "unchanged")
        triggers = (
            ", ".join(f"{tr['name']} ({_automation_text(tr['automation'])})" for tr in t.triggers) or "-"
        )
        rows.append([t.name, t.version, t.spec.get("image") or "-", state, triggers])
    print_table(
        ["task", "version", "image", "state", "triggers"],
        rows,
        title=f"{verb} {len(tasks)} task(s) of {', '.join(e for d in deployments for e in d.envs)}",
    )
    if dry_run:
        for t in tasks:
            ref = t.spec["task"]
            inputs = ", ".join(
                f"{i['name']}: {i['type'].get('repr')}" + ("" if i["required"] else f" = {i['default_repr']}")
                for i in t.spec["interface"]["inputs"]
            )
            click.echo(f"\n{t.name}  ({inputs})")
            print_fields(
                [
                    ("bundle", str(ref.get("bundle_key"))),
                    ("module", str(ref.get("module"))),
                    ("resources", str(ref.get("resources") or "-")),
                    ("retries", str(ref.get("retries"))),
                    ("timeout", str(ref.get("timeout") or "-")),
                    ("cache", str((ref.get("cache") or {}).get("behavior"))),
                    ("secrets", ", ".join(s["key"] for s in ref.get("secrets") or []) or "-"),
                    ("env vars", ", ".join(sorted(ref.get("env_vars") or {})) or "-"),
                ]
            )
            pod = t.spec.get("extra", {}).get("k8s_pod")
            if pod is not None:  # what it would run as on Kubernetes (with the kubernetes extra)
                import yaml

                click.echo("Kubernetes pod:")
                click.echo(yaml.safe_dump(pod, sort_keys=False).rstrip())


# -- get task ------------------------------------------------------------------------------------


@get.command("task")
@click.argument("name", required=False)
@click.option("--version", default=None, help="Show this version of the task.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@output_format_option
def get_task(name: str | None, version: str | None, limit: int, output_format: str) -> None:
    """List deployed tasks (latest versions), the versions of one task, or one version.

    \b
    Examples:
      flyte get task
      flyte get task my_env.main
      flyte get task my_env.main --version 3f2a...
    """
    from flyte.remote._task import Task

    if not remote_configured():
        fail(
            "No control plane is configured; deployed tasks live on one (see `flyte create config --devbox`)"
        )
    if name is not None and version is not None:
        details = Task.get(name, version=version).fetch()
        if output_format == "json":
            echo_json(details.to_dict())
            return
        ref = details.spec["task"]
        print_fields(
            [
                ("name", details.name),
                ("version", details.version),
                ("environment", details.environment),
                ("deployed", _when(details.created_at)),
                ("image", str(details.image)),
                ("interface", f"{details.name}{details.interface!r}"),
                ("required", ", ".join(details.required_args) or "-"),
                ("defaults", ", ".join(details.default_input_args) or "-"),
                ("resources", str(details.resources or "-")),
                ("cache", str((ref.get("cache") or {}).get("behavior"))),
                ("retries", str(details.retries)),
                ("timeout", str(details.timeout or "-")),
                ("secrets", ", ".join(details.secrets) or "-"),
                ("triggers", ", ".join(t["name"] for t in details.triggers) or "-"),
            ]
        )
        return
    found = list(Task.listall(by_task_name=name, limit=limit))
    if output_format == "json":
        echo_json([t.data for t in found])
        return
    if name is not None and not found:
        fail(f"No deployed task '{name}'")
    rows = [[t.name, t.version, t.data["spec"].get("environment", ""), _when(t.created_at)] for t in found]
    print_table(["name", "version", "environment", "deployed"], rows)


# -- triggers ------------------------------------------------------------------------------------


def _trigger_row(t: Any) -> list[str]:
    return [
        t.name,
        t.task_name,
        "active" if t.active else "inactive",
        _automation_text(t.automation),
        _when(t.last_scheduled),
        _when(t.next_scheduled),
    ]


@get.command("trigger")
@click.argument("task_name", required=False)
@click.argument("name", required=False)
@output_format_option
def get_trigger(task_name: str | None, name: str | None, output_format: str) -> None:
    """List the triggers of deployed tasks (of one task), or show one trigger and its fires.

    \b
    Examples:
      flyte get trigger
      flyte get trigger my_env.report
      flyte get trigger my_env.report every_minute
    """
    from flyte.remote._trigger import Trigger

    if not remote_configured():
        fail("No control plane is configured; triggers live on one (see `flyte create config --devbox`)")
    if name is not None:
        assert task_name is not None
        trigger = Trigger.get(name, task_name)
        fires = trigger.fires()
        if output_format == "json":
            echo_json({**trigger.data, "fires": fires})
            return
        print_table(["name", "task", "state", "schedule", "last tick", "next tick"], [_trigger_row(trigger)])
        if fires:
            print_table(
                ["scheduled", "run"],
                [[_when(f["scheduled_at"]), f["run_name"]] for f in fires],
                title="fires",
            )
        return
    found = list(Trigger.listall(task_name))
    if output_format == "json":
        echo_json([t.data for t in found])
        return
    print_table(
        ["name", "task", "state", "schedule", "last tick", "next tick"], [_trigger_row(t) for t in found]
    )


@click.group(name="update")
def update() -> None:
    """Change resources on the control plane, such as a trigger's state.

    \b
    Examples:
      flyte update trigger every_minute my_env.report --deactivate
    """


@update.command("trigger")
@click.argument("name")
@click.argument("task_name")
@click.option("--activate/--deactivate", required=True, help="Activate or deactivate the trigger.")
def update_trigger(name: str, task_name: str, activate: bool) -> None:
    """Activate or deactivate trigger NAME of task TASK_NAME.

    \b
    Examples:
      flyte update trigger every_minute my_env.report --deactivate
    """
    from flyte.remote._trigger import Trigger

    if not remote_configured():
        fail("No control plane is configured (see `flyte create config --devbox`)")
    trigger = Trigger.update(name, task_name, activate)
    click.echo(f"Trigger '{name}' of task '{task_name}' is now {'active' if trigger.active else 'inactive'}")


@delete.command("trigger")
@click.argument("name")
@click.argument("task_name")
def delete_trigger(name: str, task_name: str) -> None:
    """Delete trigger NAME of task TASK_NAME: it fires no more (a later deploy declaring it adds it again).

    \b
    Examples:
      flyte delete trigger every_minute app.tick
    """
    from flyte.remote._trigger import Trigger

    if not remote_configured():
        fail("No control plane is configured (see `flyte create config --devbox`)")
    Trigger.delete(name, task_name)
    click.echo(f"Trigger '{name}' of task '{task_name}' deleted")
