"""``flyte.deploy``: register the tasks of environments as versioned tasks on the control plane.

A deploy plan holds the environments named and, recursively, those they ``depends_on``. One code
bundle (the modules loaded from under the root directory, as ``flyte run`` ships them) is built
for the plan, and every task of every environment is registered under one version with its
interface, defaults, settings (resources, cache, retries, timeouts, secrets, env vars), image,
bundle and triggers.

Without ``version=``, the version is a content hash of what would run: the bundle's SHA-256 and
every task's spec. The same code and settings give the same version, and registering a version
that exists with the same spec changes nothing, so an unchanged redeploy is a no-op.

Without a control plane (no endpoint given to ``flyte.init``) a deploy is refused with an
``InitializationError``; a dry run needs none: it builds the bundle, computes the version and
returns (``flyte deploy --dry-run`` prints) what would be registered.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from flyte._environment import Environment
from flyte._initialize import get_init_config
from flyte._internal.bundle import SKIP_DIRS, Bundle, build_bundle
from flyte._internal.controllers._wire import b64e, task_ref
from flyte._internal.typespec import describe
from flyte._syncify import syncify
from flyte._trigger import Cron, FixedRate, Trigger, TriggerTime
from flyte.errors import CodeBundleError, DeploymentError
from flyte.notify._spec import run_notifications_field
from flyte.types import TypeEngine, TypeTransformerFailedError

if TYPE_CHECKING:
    from flyte._task import TaskTemplate
    from flyte.remote._client import ApiClient

CopyFiles = Literal["loaded_modules", "all", "none"]

__all__ = ["DeployedTask", "Deployment", "DeploymentPlan", "deploy", "plan_deploy"]


@dataclass
class DeploymentPlan:
    """The environments one deploy registers (dependencies first) and the version asked for."""

    envs: dict[str, Environment]
    version: str | None = None


@dataclass(frozen=True)
class DeployedTask:
    """One registered task version: ``created`` is False when it existed already (a no-op)."""

    name: str
    version: str
    spec: dict[str, Any]
    created: bool = False

    @property
    def triggers(self) -> list[dict[str, Any]]:
        return list(self.spec.get("triggers") or [])


@dataclass
class Deployment:
    """What one deploy registered (or, for a dry run, would register)."""

    envs: dict[str, Environment]
    deployed_tasks: list[DeployedTask] = field(default_factory=list)
    deployed_triggers: list[dict[str, Any]] = field(default_factory=list)
    version: str = ""
    dryrun: bool = False

    def summary_repr(self) -> str:
        """One line: environments and task versions."""
        envs = ", ".join(self.envs)
        tasks = ", ".join(f"{t.name} (v{t.version})" for t in self.deployed_tasks)
        return f"Deployment(envs=[{envs}], tasks=[{tasks}])"

    def task_repr(self) -> list[list[tuple[str, str]]]:
        return [[("name", t.name), ("version", t.version)] for t in self.deployed_tasks]

    def env_repr(self) -> list[list[tuple[str, str]]]:
        return [
            [("environment", name), ("image", image_uri(env.image) or "")] for name, env in self.envs.items()
        ]


# -- planning -------------------------------------------------------------------------------------


def _discover(planned: dict[str, Environment], env: Environment, path: tuple[str, ...] = ()) -> None:
    if env.name in planned:
        return
    if env.name in path:
        raise DeploymentError(f"Environment '{env.name}' depends on itself: {' -> '.join((*path, env.name))}")
    for dep in env.depends_on:
        _discover(planned, dep, (*path, env.name))
    planned[env.name] = env


def plan_deploy(*envs: Environment, version: str | None = None) -> list[DeploymentPlan]:
    """One plan per environment not already planned with an earlier one, each with its dependencies."""
    plans: list[DeploymentPlan] = []
    seen: set[str] = set()
    for env in envs:
        if not isinstance(env, Environment):
            raise DeploymentError(f"flyte.deploy takes environments (flyte.TaskEnvironment), got {env!r}")
        if env.name in seen:
            continue
        planned: dict[str, Environment] = {}
        _discover(planned, env)
        plans.append(DeploymentPlan(planned, version=version))
        seen.update(planned)
    return plans


# -- specs ----------------------------------------------------------------------------------------


def _image_uri_of(task: TaskTemplate[Any, Any], env: Environment) -> str | None:
    """The URI ``flyte build`` gives the task's image (its content-hash tag), as deploy records it."""
    from flyte._internal.imagebuild import image_uri_for

    image = task.image if task.image is not None else env.image
    if image is None or image == "auto":
        return image_uri(image)
    try:
        return image_uri_for(image)
    except Exception:  # an image that cannot be resolved here is still recorded as given
        return image_uri(image)


def image_uri(image: Any) -> str | None:
    """What a task's image is recorded as: an image's URI (its content-hash tag), or the string given."""
    if image is None or isinstance(image, str):
        return image
    uri = getattr(image, "uri", None)
    return uri if isinstance(uri, str) else repr(image)


def _encode(task: TaskTemplate[Any, Any], values: dict[str, Any], what: str) -> str:
    types = task.interface.input_types
    try:
        return b64e(TypeEngine.encode_values(values, {k: types[k] for k in values})) or ""
    except TypeTransformerFailedError as e:
        raise DeploymentError(f"Task '{task.name}': {what} cannot be encoded: {e}") from None


def _interface(task: TaskTemplate[Any, Any]) -> dict[str, Any]:
    inputs, defaults = [], {}
    for name, (tp, default) in task.interface.inputs.items():
        required = default is inspect.Parameter.empty
        if not required:
            defaults[name] = default
        inputs.append(
            {
                "name": name,
                "type": describe(tp),
                "required": required,
                "default_repr": None if required else repr(default),
            }
        )
    outputs = [{"name": name, "type": describe(tp)} for name, tp in task.interface.outputs.items()]
    return {
        "inputs": inputs,
        "outputs": outputs,
        "defaults_b64": _encode(task, defaults, "the input defaults"),
    }


def _automation(trigger: Trigger) -> dict[str, Any]:
    a = trigger.automation
    if isinstance(a, Cron):
        return {"kind": "cron", "expression": a.expression, "timezone": a.timezone}
    assert isinstance(a, FixedRate)
    start = a.start_time
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=timezone.utc)  # a naive start time is read as UTC
    return {
        "kind": "fixed_rate",
        "interval_minutes": a.interval_minutes,
        "start_time": None if start is None else start.timestamp(),
    }


def _trigger_spec(task: TaskTemplate[Any, Any], trigger: Trigger) -> dict[str, Any]:
    inputs = dict(trigger.inputs or {})
    known = task.interface.inputs
    unknown = sorted(set(inputs) - set(known))
    if unknown:
        raise DeploymentError(
            f"Trigger '{trigger.name}' of task '{task.name}' sets input(s) {', '.join(unknown)}; "
            f"the task's inputs are: {', '.join(known) or 'none'}"
        )
    time_inputs = [k for k, v in inputs.items() if v is TriggerTime]
    for name in time_inputs:
        if known[name][0] not in (datetime, Any):
            raise DeploymentError(
                f"Trigger '{trigger.name}' of task '{task.name}' binds flyte.TriggerTime to input '{name}', "
                f"which is not a datetime"
            )
    missing = [n for n, (_, d) in known.items() if d is inspect.Parameter.empty and n not in inputs]
    if missing:
        raise DeploymentError(
            f"Trigger '{trigger.name}' of task '{task.name}' leaves required input(s) {', '.join(missing)} "
            "unset; give them in Trigger(inputs={...}) or defaults in the task"
        )
    fixed = {k: v for k, v in inputs.items() if v is not TriggerTime}
    return {
        "name": trigger.name,
        "automation": _automation(trigger),
        "description": trigger.description,
        "auto_activate": trigger.auto_activate,
        "inputs_b64": _encode(task, fixed, f"the inputs of trigger '{trigger.name}'"),
        "trigger_time_inputs": time_inputs,
        "env_vars": dict(trigger.env_vars or {}),
        "labels": dict(trigger.labels or {}),
        "custom_context": dict(trigger.custom_context or {}),
        "overwrite_cache": trigger.overwrite_cache,
        "max_action_concurrency": trigger.max_action_concurrency or None,  # 0: the platform default
        "notifications": run_notifications_field(trigger.notifications).get("run_notifications", []),
    }


def task_spec(
    task: TaskTemplate[Any, Any], env: Environment, bundle_key: str, root: Path, version: str
) -> dict[str, Any]:
    """The ``TaskDeploy`` body of ``task`` (see ``flyte.server.triggers.models``)."""
    docs = inspect.cleandoc(task.func.__doc__) if task.func.__doc__ else None
    image = _image_uri_of(task, env)
    return {
        "name": task.name,
        "version": version,
        "environment": env.name,
        "short_name": task.short_name,
        "task": task_ref(task, bundle_key, root),
        "interface": _interface(task),
        "image": image,
        "triggers": [_trigger_spec(task, t) for t in task.triggers],
        "docs": docs,
        "extra": {},
    }


def _k8s_extra(task: TaskTemplate[Any, Any], image: str | None, version: str) -> dict[str, Any]:
    """The Kubernetes pod the task would run as, when the optional ``kubernetes`` package is here
    to validate it (``flyte deploy --dry-run`` prints it); nothing otherwise."""
    import importlib.util

    if importlib.util.find_spec("kubernetes") is None:
        return {}
    from flyte._internal.k8s import pod_manifest_for

    return {"k8s_pod": pod_manifest_for(task, image_uri=image, version=version)}


def _tasks(plan: DeploymentPlan) -> list[tuple[Environment, TaskTemplate[Any, Any]]]:
    found = []
    for env in plan.envs.values():
        for task in getattr(env, "tasks", {}).values():
            found.append((env, task))
    return found


def _all_files(root: Path) -> list[str]:
    """Every file under ``root`` (POSIX, relative), minus what never goes into a bundle."""
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not any(part in SKIP_DIRS or part.startswith(".") for part in rel.parts):
            found.append(rel.as_posix())
    return found


def _bundle(tasks: list[tuple[Environment, TaskTemplate[Any, Any]]], every_file: bool) -> tuple[Bundle, Path]:
    from flyte.remote._remote_run import bundle_root

    root = get_init_config().root_dir
    roots: dict[Path, str] = {}
    extra = []
    for _, task in tasks:
        task_root, rel = bundle_root(task, root)
        roots.setdefault(task_root, task.name)
        extra.append(rel)
    if len(roots) > 1:
        listed = ", ".join(f"'{name}' under {path}" for path, name in roots.items())
        raise CodeBundleError(
            f"The tasks to deploy live in different directories ({listed}); set flyte.init(root_dir=...) "
            "to a directory that holds them all"
        )
    bundle_dir = next(iter(roots), root)
    if every_file:
        extra.extend(_all_files(bundle_dir))
    return build_bundle(bundle_dir, extra=extra), bundle_dir


def content_version(bundle_sha256: str, specs: list[dict[str, Any]]) -> str:
    """The version of a deploy without one: a hash of the bundle and of every task's spec."""
    h = hashlib.sha256(bundle_sha256.encode())
    for spec in sorted(specs, key=lambda s: s["name"]):
        h.update(
            json.dumps(
                {k: v for k, v in spec.items() if k not in ("version", "extra")}, sort_keys=True, default=str
            ).encode()
        )
    return h.hexdigest()[:32]


def _apply(plan: DeploymentPlan, dryrun: bool, copy_style: CopyFiles, client: ApiClient | None) -> Deployment:
    from flyte._internal.bundle import bundle_key, upload_bundle

    tasks = _tasks(plan)
    if copy_style == "none":
        raise DeploymentError(
            "copy_style='none' expects the code inside the image, but the control plane's workers run "
            "tasks from their code bundle; deploy with copy_style='loaded_modules' or 'all'"
        )
    bundle, root = _bundle(tasks, copy_style == "all") if tasks else (None, get_init_config().root_dir)
    key = bundle.key if bundle is not None else bundle_key("0" * 64)
    specs = [task_spec(task, env, key, root, plan.version or "") for env, task in tasks]
    version = plan.version or content_version(bundle.sha256 if bundle else "", specs)
    for (_, task), spec in zip(tasks, specs, strict=True):
        spec["version"] = version
        spec["task"]["version"] = version  # what flyte.ctx().version says in the deployed task
        spec["extra"].update(_k8s_extra(task, spec["image"], version))  # derived: not in the version
    deployment = Deployment(plan.envs, version=version, dryrun=dryrun)
    deployment.deployed_triggers = [{"task": s["name"], **t} for s in specs for t in s["triggers"]]
    if dryrun:
        deployment.deployed_tasks = [DeployedTask(s["name"], version, s) for s in specs]
        return deployment
    assert client is not None
    if bundle is not None:
        upload_bundle(client, bundle)
    for spec in specs:
        answer = client.call("POST", "/api/v1/tasks", json=spec)
        deployment.deployed_tasks.append(
            DeployedTask(spec["name"], version, spec, bool(answer.get("created")))
        )
    return deployment


def _deploy_sync(
    envs: tuple[Environment, ...], dryrun: bool, version: str | None, copy_style: CopyFiles
) -> list[Deployment]:
    client = None
    if not dryrun:
        from flyte.remote._remote_run import client_from_config

        client = client_from_config()  # InitializationError when no control plane is configured
    return [_apply(plan, dryrun, copy_style, client) for plan in plan_deploy(*envs, version=version)]


@syncify
async def deploy(
    *envs: Environment,
    dryrun: bool = False,
    version: str | None = None,
    interactive_mode: bool | None = None,
    copy_style: CopyFiles = "loaded_modules",
) -> list[Deployment]:
    """Register every task of ``envs`` (and of the environments they depend on) on the control plane.

    Args:
        envs: the environments to deploy.
        dryrun: build the bundle and the specs and return them without registering anything.
        version: the version to register; by default a content hash of the code and settings, so
            deploying unchanged code again registers nothing new.
        interactive_mode: accepted for compatibility; notebooks are not bundled differently here.
        copy_style: ``"loaded_modules"`` (the modules loaded from under the root directory, the
            default) or ``"all"`` (every file under it, minus ``.git``, virtual environments and
            hidden files); ``"none"`` is refused (workers run tasks from their bundle).

    Returns:
        One :class:`Deployment` per group of environments deployed together.
    """
    if interactive_mode:
        raise DeploymentError(
            "flyte.deploy(interactive_mode=True) is not supported; deploy from a module or script"
        )
    return await asyncio.to_thread(_deploy_sync, envs, dryrun, version, copy_style)
