"""``pyflyte register`` / ``pyflyte package``: flytekit entities deployed with ``flyte.deploy``.

Loading the files puts every flytekit task and workflow into the implicit ``TaskEnvironment`` of
its module (``basics.py`` -> ``basics``). Registering deploys those environments: every task,
every workflow's parent task (the action that runs its graph) and every ``@dynamic`` / ``@eager``
task becomes a deployed task version. A launch plan with a schedule becomes a trigger on its
workflow's deployed task, named after the launch plan; launch plans without a schedule have no
registration of their own (run them with ``pyflyte run [--remote] FILE LAUNCH_PLAN``).

As in flytekit, a scheduled launch plan is registered inactive unless it was created with
``auto_activate=True`` or registered with ``--activate-launchplans``; ``pyflyte launchplan
--activate NAME`` (or ``flyte update trigger NAME TASK --activate``) starts it later.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flyte.errors import DeploymentError


@dataclasses.dataclass
class Registration:
    """What one ``pyflyte register`` (or package) found: environments and scheduled launch plans."""

    envs: list[Any]
    """The implicit environments, each a copy whose workflow tasks carry their launch plans' triggers."""
    launch_plans: list[Any]
    """Every named launch plan found, scheduled or not."""
    activate: bool = False
    """``--activate-launchplans``: every scheduled launch plan registered is made active."""
    server_active: dict[tuple[str, str], bool] | None = None
    """After a registration: (workflow task, launch plan) -> whether its trigger is active now."""


def python_files(paths: Iterable[str]) -> list[Path]:
    """The ``.py`` files of ``paths`` (a directory: every file under it, as flytekit registers
    packages), skipping hidden and cache directories."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise DeploymentError(f"pyflyte register: '{given}' does not exist")
        if path.is_file():
            found.append(path)
            continue
        for file in sorted(path.rglob("*.py")):
            rel = file.relative_to(path).parts
            if not any(p.startswith(".") or p in ("__pycache__", "node_modules") for p in rel):
                found.append(file)
    return found


def _is_entity(value: Any) -> bool:
    from flyte._task import TaskTemplate

    return isinstance(value, TaskTemplate) and hasattr(value, "fk_inputs")


def collect(paths: Iterable[str], root: Path, activate: bool = False) -> Registration:
    """Load ``paths`` and gather the environments to deploy, with the launch plans' triggers
    attached to their workflow tasks (active when ``activate`` or the plan's ``auto_activate``)."""
    from flyte._internal.loader import load_module
    from flytekit.core.base_task import _environments, env_name_for
    from flytekit.core.launch_plan import LaunchPlan

    env_names: list[str] = []
    plans: dict[str, Any] = {}

    def want(name: str) -> None:
        if name in _environments and name not in env_names:
            env_names.append(name)

    for file in python_files(paths):
        module = load_module(str(file), root)
        want(env_name_for(module.__name__))
        for value in list(vars(module).values()):
            if isinstance(value, LaunchPlan):
                value = value.workflow
            if _is_entity(value) and getattr(value, "func", None) is not None:
                want(env_name_for(value.func.__module__))
    # flytekit registers every launch plan created while loading, assigned to a name or not
    for lp in list(LaunchPlan._registry.values()):
        wf = lp.workflow
        if lp.name == wf.name:  # the default launch plan is the workflow itself
            continue
        env = _environments.get(env_name_for(wf.func.__module__))
        if env is not None and env.name in env_names and env._tasks.get(wf.name) is wf:
            plans[lp.name] = lp
    envs = [_with_triggers(_environments[name], plans.values(), activate) for name in env_names]
    return Registration(envs=envs, launch_plans=list(plans.values()), activate=activate)


def _with_triggers(env: Any, plans: Iterable[Any], activate: bool) -> Any:
    """A copy of ``env`` whose workflow tasks declare the triggers of their scheduled launch plans
    (the implicit environment itself is left as it is)."""
    by_workflow: dict[str, list[Any]] = {}
    for lp in plans:
        trigger = lp.trigger
        if trigger is None or lp.workflow.name not in env._tasks:
            continue
        if activate and not trigger.auto_activate:
            trigger = dataclasses.replace(trigger, auto_activate=True)
        by_workflow.setdefault(lp.workflow.name, []).append(trigger)
    copy = dataclasses.replace(env)
    copy._tasks = dict(env._tasks)
    for name, triggers in by_workflow.items():
        task = env._tasks[name]
        copy._tasks[name] = dataclasses.replace(task, triggers=(*task.triggers, *triggers))
    return copy


def deploy(
    registration: Registration, version: str | None, dryrun: bool, copy_style: str = "loaded_modules"
) -> list[Any]:
    """``flyte.deploy`` of the registration's environments: the deployed (or would-be) tasks.

    A launch plan whose schedule is active on the server stays active when registered again,
    as in flytekit (where the active version keeps its schedule): the engine replaces a trigger
    whose spec changed, inactive unless it auto-activates, so it is activated again here; with
    ``--activate-launchplans`` every scheduled launch plan registered ends active.
    """
    import flyte

    if not registration.envs:
        raise DeploymentError("pyflyte register: no flytekit task, workflow or launch plan found")
    ours = {(lp.workflow.name, lp.name) for lp in registration.launch_plans if lp.schedule is not None}
    was_active = (
        set() if dryrun else {key for key, active in _trigger_states().items() if active and key in ours}
    )
    deployments = flyte.deploy(*registration.envs, version=version, dryrun=dryrun, copy_style=copy_style)  # type: ignore[arg-type]
    if not dryrun:
        from flyte.remote._trigger import Trigger

        now = _trigger_states()
        # an unchanged trigger keeps its state on the server, so activation is applied here too
        for task_name, name in sorted(was_active | (ours if registration.activate else set())):
            if now.get((task_name, name)) is False:
                Trigger.update(name, task_name, active=True)
                now[(task_name, name)] = True
        registration.server_active = {key: now[key] for key in ours if key in now}
    return [t for d in deployments for t in d.deployed_tasks]


def _trigger_states() -> dict[tuple[str, str], bool]:
    """(task, trigger) -> active, for every trigger on the control plane."""
    from flyte.remote._trigger import Trigger

    return {(t.task_name, t.name): t.active for t in Trigger.listall(limit=1_000_000)}


def _automation_text(a: dict[str, Any]) -> str:
    if a.get("kind") == "cron":
        return f"cron '{a.get('expression')}'"
    return f"every {a.get('interval_minutes')} min"


def report_lines(registration: Registration, tasks: list[Any], dryrun: bool) -> list[str]:
    """flytekit-style lines: one per task version, one per launch plan."""
    from flytekit.core.workflow import WorkflowBase

    workflows = {n for env in registration.envs for n, t in env._tasks.items() if isinstance(t, WorkflowBase)}
    lines = []
    mark = "[dry run]" if dryrun else "[✔]"
    for t in tasks:
        state = "" if dryrun else (" (registered)" if t.created else " (unchanged)")
        kind = "WORKFLOW" if t.name in workflows else "TASK"
        lines.append(f"{mark} {kind} {t.name} version {t.version}{state}")
    triggers = {(t.name, tr["name"]): tr for t in tasks for tr in t.triggers}
    for lp in registration.launch_plans:
        tr = triggers.get((lp.workflow.name, lp.name))
        if tr is None:
            lines.append(
                f"{mark} LAUNCH_PLAN {lp.name} of {lp.workflow.name}: no schedule, run it with "
                f"'pyflyte run [--remote] FILE {lp.name}'"
            )
            continue
        key = (lp.workflow.name, lp.name)
        # after a registration the server's state; for a dry run what the registration asks for
        on = (
            tr["auto_activate"] if registration.server_active is None else registration.server_active.get(key)
        )
        active = "active" if on else f"inactive (start it: pyflyte launchplan --activate {lp.name})"
        lines.append(
            f"{mark} LAUNCH_PLAN {lp.name}: trigger on {lp.workflow.name}, "
            f"{_automation_text(tr['automation'])}, {active}"
        )
    return lines
